#!/bin/sh
# /init of the guest-tier initramfs (busybox sh). Mounts the kernel file
# systems, loads the modules listed in /etc/pstest/modules, prints the
# "PSTEST init" marker, runs /pstest/main.sh and powers the guest off
# (qemu runs with -no-reboot, so a reboot ends it).
export PATH=/usr/local/bin:/bin:/sbin:/usr/bin:/usr/sbin
export HOME=/ TMPDIR=/tmp

mount -t devtmpfs devtmpfs /dev 2>/dev/null
[ -c /dev/console ] && exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tmpfs tmpfs /tmp
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null ||
	echo "PSTEST # init: mount tracefs failed"
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null ||
	echo "PSTEST # init: mount debugfs failed"
mount -t bpf bpf /sys/fs/bpf 2>/dev/null ||
	echo "PSTEST # init: mount bpf failed"
# shellcheck disable=SC3045 # busybox sh has ulimit -l
ulimit -l unlimited

while read -r m; do
	insmod "/lib/modules/$m" || echo "PSTEST # init: insmod $m failed"
done </etc/pstest/modules

# kernel command line: pstest.only=a,b pstest.timeout=SECONDS pstest.release=R pstest.set=NAME
# shellcheck disable=SC2013 # the command line is words
for arg in $(cat /proc/cmdline); do
	case $arg in
	pstest.only=*) export PSTEST_ONLY="${arg#pstest.only=}" ;;
	pstest.timeout=*) export PSTEST_TIMEOUT="${arg#pstest.timeout=}" ;;
	pstest.release=*) export PSTEST_RELEASE="${arg#pstest.release=}" ;;
	pstest.set=*) export PSTEST_SET="${arg#pstest.set=}" ;;
	esac
done

read -r up _ </proc/uptime
echo "PSTEST init $(uname -r) uptime=$up"
sh /pstest/main.sh
rc=$?
[ $rc -eq 0 ] || echo "PSTEST # init: guest script exited with $rc"
sync
reboot -f
poweroff -f
while :; do sleep 1000; done
