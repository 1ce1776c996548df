# Guest tier (QEMU TCG with Debian 12 kernels 6.1 and 6.12); included by the top Makefile.
# make vm-test      build static, boot each kernel, run tests/guest (TAP)
# make vm-kernels   fetch and unpack both kernels into $(PINSCOPE_VM_CACHE) (default /var/cache/pinscope-vm)

.PHONY: vm-test vm-kernels
vm-test:
	$(Q)tests/guest/run.sh

vm-kernels:
	$(Q)tools/vm/fetch-kernel.sh 6.1
	$(Q)tools/vm/fetch-kernel.sh 6.12

# The purpose-built 6.12 kernel with KVM_SW_PROTECTED_VM (real conversions), cached.
-include tools/vm/kernel/kernel.mk
