#!/bin/bash
# tests/guest/gmem/run.sh: host side of the guest_memfd/conversion guest test (gmem-guest.sh)
# in the purpose-built 6.12 kernel; see tests/guest/swprot-run.sh.
# Environment: PINSCOPE_VM_TIMEOUT (seconds, default 240), PINSCOPE_VM_CACHE.
here=$(cd "$(dirname "$0")" && pwd)
exec "$here/../swprot-run.sh" gmem "$here/gmem-guest.sh" 240
