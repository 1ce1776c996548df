#!/bin/bash
# tests/guest/swvm/run.sh: host side of the swvm guest test (swvm-guest.sh) in the
# purpose-built 6.12 kernel; see tests/guest/swprot-run.sh.
# Environment: PINSCOPE_VM_TIMEOUT (seconds per boot, default 180), PINSCOPE_VM_CACHE.
here=$(cd "$(dirname "$0")" && pwd)
exec "$here/../swprot-run.sh" swvm "$here/swvm-guest.sh" 180
