/* Ordinary freestanding C: no sensitive instruction, so the annotator must return its assembly unchanged. */
struct node { struct node *next; int key, value; };

int lookup(const struct node *n, int key)
{
    for (; n; n = n->next)
        if (n->key == key)
            return n->value;
    return -1;
}

unsigned checksum(const unsigned char *p, unsigned len)
{
    unsigned a = 1, b = 0;
    while (len--) {
        a = (a + *p++) % 65521;
        b = (b + a) % 65521;
    }
    return (b << 16) | a;
}

static const char *const names[] = { "cli", "sti; hlt", "# not a comment", "/* nor this */" };

const char *name_of(unsigned i) { return i < 4 ? names[i] : "?"; }
