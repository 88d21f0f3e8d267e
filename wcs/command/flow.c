/* What the multi-step flows (flow.h: count.c, transfer.c) share: the reply to a failed store
 * call or script. */
#include "flow.h"

#include "base/err.h"
#include "store/ops.h"

#include <errno.h>
#include <stdio.h>

void flow_fail_rc(flow_done_fn done, void *arg, int rc, const char *msg)
{
    char e[CMD_ERR_MAX];
    if (rc == WCS_E_STATE || rc == WCS_E_UNKNOWN || rc == -EINVAL) {
        done(arg, NULL, ops_refusal_text(msg), false, NULL, NULL);
        return;
    }
    snprintf(e, sizeof(e), "store unavailable (%s): not executed; retry with a new request_id",
             msg && msg[0] ? msg : wcs_strerror(rc));
    done(arg, NULL, e, true, NULL, NULL);
}
