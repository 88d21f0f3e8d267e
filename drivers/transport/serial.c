/* Serial port open for fd links (link.c): termios raw mode with the baud rate, parity, data
 * and stop bits of the address, no flow control, CLOCAL so modem lines do not matter, and
 * O_NONBLOCK so the loop reads whatever has arrived. */
#include "link_private.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

static speed_t speed_of(uint32_t baud)
{
    switch (baud) {
    case 1200:
        return B1200;
    case 2400:
        return B2400;
    case 4800:
        return B4800;
    case 9600:
        return B9600;
    case 19200:
        return B19200;
    case 38400:
        return B38400;
    case 57600:
        return B57600;
    case 115200:
        return B115200;
    default:
        return B0;
    }
}

int tr_addr_serial(struct tr_addr *a, const char *device, uint32_t baud, char parity,
                   uint8_t data_bits, uint8_t stop_bits)
{
    size_t n = device ? strlen(device) : 0;

    if (n == 0 || n > TR_DEVICE_MAX || speed_of(baud) == B0 ||
        (parity != 'N' && parity != 'E' && parity != 'O') || (data_bits != 7 && data_bits != 8) ||
        (stop_bits != 1 && stop_bits != 2))
        return -EINVAL;
    memset(a, 0, sizeof(*a));
    a->kind = TR_SERIAL;
    memcpy(a->device, device, n + 1);
    a->baud = baud;
    a->parity = parity;
    a->data_bits = data_bits;
    a->stop_bits = stop_bits;
    return 0;
}

int serial_open_fd(const struct tr_addr *a, int *fd)
{
    struct termios t;
    speed_t sp = speed_of(a->baud);
    int f, rc;

    if (sp == B0)
        return -EINVAL;
    f = open(a->device, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (f < 0)
        return -errno;
    if (tcgetattr(f, &t) < 0)
        goto fail_errno;
    cfmakeraw(&t);
    t.c_cflag &= ~(tcflag_t)(CSIZE | PARENB | PARODD | CSTOPB | CRTSCTS);
    t.c_cflag |= CLOCAL | CREAD | (a->data_bits == 7 ? CS7 : CS8);
    if (a->parity != 'N')
        t.c_cflag |= PARENB | (a->parity == 'O' ? PARODD : 0);
    if (a->stop_bits == 2)
        t.c_cflag |= CSTOPB;
    t.c_iflag &= ~(tcflag_t)(IXON | IXOFF | IXANY);
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    if (cfsetispeed(&t, sp) < 0 || cfsetospeed(&t, sp) < 0 || tcsetattr(f, TCSANOW, &t) < 0)
        goto fail_errno;
    (void)tcflush(f, TCIOFLUSH);
    *fd = f;
    return 0;
fail_errno:
    rc = -errno;
    close(f);
    return rc;
}
