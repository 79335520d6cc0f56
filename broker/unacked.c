/* The messages the collector has not acknowledged: a singly linked FIFO
 * in sequence order with a resend cursor. Sequence numbers only grow, so
 * an acknowledgement drops a prefix and a resume moves the cursor back to
 * the head. */
#include "broker/unacked.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct s_node_t {
    struct s_node_t *next;
    uint64_t seq;
    size_t size;
    uint8_t type;
    unsigned char body[];
} s_node_t;

struct et_unacked_t {
    uint64_t max_bytes;
    s_node_t *head, *tail;
    /* The next message to send again; NULL: none waits. */
    s_node_t *cursor;
    /* Right after et_unacked_keep: the tail before it, so that a failed
     * send is undone in constant time (the list is singly linked). */
    s_node_t *before_last;
    int can_forget;
    uint64_t messages, bytes;
    uint64_t resent, no_memory;
};

et_unacked_t *
et_unacked_new(uint64_t max_bytes)
{
    et_unacked_t *self = calloc(1, sizeof *self);
    if (!self) {
        errno = ENOMEM;
        return NULL;
    }
    self->max_bytes = max_bytes;
    return self;
}

void
et_unacked_destroy(et_unacked_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    et_unacked_t *self = *self_p;
    while (self->head) {
        s_node_t *next = self->head->next;
        free(self->head);
        self->head = next;
    }
    free(self);
    *self_p = NULL;
}

int
et_unacked_keep(et_unacked_t *self, uint64_t seq, uint8_t type,
                const void *body, size_t size)
{
    uint64_t need = sizeof(s_node_t) + (uint64_t)size;
    if (self->bytes > self->max_bytes || need > self->max_bytes - self->bytes) {
        errno = ENOBUFS;
        return -1;
    }
    s_node_t *node = malloc(sizeof *node + size);
    if (!node) {
        self->no_memory++;
        errno = ENOMEM;
        return -1;
    }
    node->next = NULL;
    node->seq = seq;
    node->size = size;
    node->type = type;
    if (size > 0)
        memcpy(node->body, body, size);
    self->before_last = self->tail;
    self->can_forget = 1;
    if (self->tail)
        self->tail->next = node;
    else
        self->head = node;
    self->tail = node;
    self->messages++;
    self->bytes += need;
    return 0;
}

static void
s_free_head(et_unacked_t *self)
{
    s_node_t *node = self->head;
    self->can_forget = 0;
    self->head = node->next;
    if (!self->head)
        self->tail = NULL;
    if (self->cursor == node)
        self->cursor = self->head;
    self->messages--;
    self->bytes -= sizeof *node + node->size;
    free(node);
}

void
et_unacked_forget_last(et_unacked_t *self)
{
    if (!self->tail || !self->can_forget)
        return;
    s_node_t *last = self->tail;
    self->can_forget = 0;
    if (self->cursor == last)
        self->cursor = NULL;
    self->tail = self->before_last;
    if (self->tail)
        self->tail->next = NULL;
    else
        self->head = NULL;
    self->messages--;
    self->bytes -= sizeof *last + last->size;
    free(last);
}

size_t
et_unacked_ack(et_unacked_t *self, uint64_t seq)
{
    size_t dropped = 0;
    while (self->head && self->head->seq <= seq) {
        s_free_head(self);
        dropped++;
    }
    return dropped;
}

void
et_unacked_rewind(et_unacked_t *self, uint64_t seq)
{
    (void)et_unacked_ack(self, seq);
    self->cursor = self->head;
}

int
et_unacked_resending(const et_unacked_t *self)
{
    return self->cursor != NULL;
}

size_t
et_unacked_resend(et_unacked_t *self, et_unacked_send_fn send, void *arg)
{
    size_t sent = 0;
    while (self->cursor) {
        s_node_t *node = self->cursor;
        if (send(arg, node->seq, node->type, node->body, node->size) != 0)
            break;
        self->cursor = node->next;
        self->resent++;
        sent++;
    }
    return sent;
}

et_unacked_stats_t
et_unacked_stats(const et_unacked_t *self)
{
    et_unacked_stats_t s = {.messages = self->messages,
                            .bytes = self->bytes,
                            .resent = self->resent,
                            .no_memory = self->no_memory,
                            .first_seq = self->head ? self->head->seq : 0};
    return s;
}
