/* Fuzz target for NCI/SCP-01: the input goes through the ETX framer and each frame is parsed;
 * the whole input is also parsed as one frame. */
#include <stdint.h>
#include <stdlib.h>

#include "drivers/codec/nci.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct nci_framer f;
    struct nci_reply r;
    uint8_t frame[NCI_FRAME_MAX];
    size_t off = 0, used, len;
    if (nci_parse(data, size, &r) == 0 && r.kind != NCI_REPLY_UNRECOGNISED &&
        (r.status_bytes < 2 || r.status_bytes > 4))
        abort();
    nci_framer_init(&f);
    while (off < size) {
        if (nci_framer_feed(&f, data + off, size - off, &used, frame, &len) == 1) {
            if (len == 0 || len > NCI_FRAME_MAX || frame[len - 1] != 0x03)
                abort();
            (void)nci_parse(frame, len, &r);
        }
        if (used == 0)
            abort();
        off += used;
    }
    return 0;
}
