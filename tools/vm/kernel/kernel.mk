# Purpose-built guest kernel (Debian linux-source-6.12, tinyconfig + pinscope-guest.config):
# software-protected KVM VMs whose guest_memfd memory really converts shared <-> private.
# Included by tools/vm/vm.mk.
# make vm-kernel-swprot   build it (or find it in $(PINSCOPE_VM_CACHE)) and print the bzImage path
# make vm-test-swvm       boot it and run the swvm guest test (TAP)

.PHONY: vm-kernel-swprot vm-test-swvm
vm-kernel-swprot:
	$(Q)tools/vm/kernel/build-kernel.sh

vm-test-swvm:
	$(Q)tests/guest/swvm/run.sh

# make vm-test-gmem       boot it and run pinscope's guest_memfd/conversion guest test
.PHONY: vm-test-gmem
vm-test-gmem:
	$(Q)tests/guest/gmem/run.sh
