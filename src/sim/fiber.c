/* SPDX-License-Identifier: MIT */
/* Stackful contexts: see fiber.h. */
#include "sim/fiber.h"

#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#if SIM_FIBER_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

/*
 * A stack's ASan shadow must start clean.  munmap() does not clear the
 * shadow of what it unmaps (gcc 12's libasan), so a new stack mapped where
 * an old fiber's frames were would inherit their redzones and report
 * stores to its own locals (seen as rare aborts of the sanitizer suite in
 * ASan's "kCurrentStackFrameMagic" CHECK).
 */
static void stack_shadow_clear(void *map, size_t len)
{
#if SIM_FIBER_ASAN
	__asan_unpoison_memory_region(map, len);
#else
	(void)map;
	(void)len;
#endif
}

#ifndef VMLAB_FIBER_UCONTEXT
/*
 * x86-64 System V: save the callee-saved registers and the SSE/x87
 * control words on the current stack, store the stack pointer, load the
 * other one and pop its registers.  A new fiber's stack is built so that
 * the final `ret` lands in the trampoline with the entry function in r13
 * and its argument in r12.
 */
__asm__(".text\n"
	".globl vmlab_sim_ctx_switch\n"
	".hidden vmlab_sim_ctx_switch\n"
	".type vmlab_sim_ctx_switch,@function\n"
	"vmlab_sim_ctx_switch:\n"
	"	pushq %rbp\n"
	"	pushq %rbx\n"
	"	pushq %r12\n"
	"	pushq %r13\n"
	"	pushq %r14\n"
	"	pushq %r15\n"
	"	subq $8, %rsp\n"
	"	stmxcsr (%rsp)\n"
	"	fnstcw 4(%rsp)\n"
	"	movq %rsp, (%rdi)\n"
	"	movq %rsi, %rsp\n"
	"	ldmxcsr (%rsp)\n"
	"	fldcw 4(%rsp)\n"
	"	addq $8, %rsp\n"
	"	popq %r15\n"
	"	popq %r14\n"
	"	popq %r13\n"
	"	popq %r12\n"
	"	popq %rbx\n"
	"	popq %rbp\n"
	"	ret\n"
	".size vmlab_sim_ctx_switch, .-vmlab_sim_ctx_switch\n"
	".globl vmlab_sim_fiber_trampoline\n"
	".hidden vmlab_sim_fiber_trampoline\n"
	".type vmlab_sim_fiber_trampoline,@function\n"
	"vmlab_sim_fiber_trampoline:\n"
	"	movq %r12, %rdi\n"
	"	callq *%r13\n"
	"	ud2\n"
	".size vmlab_sim_fiber_trampoline, .-vmlab_sim_fiber_trampoline\n");

void vmlab_sim_ctx_switch(void **save_sp, void *new_sp);
void vmlab_sim_fiber_trampoline(void);
#endif

#define GUARD_SIZE 4096

void fiber_init_main(struct fiber *f)
{
	assert(f);
	memset(f, 0, sizeof(*f));
}

#ifdef VMLAB_FIBER_UCONTEXT
/* makecontext() passes ints: the pointers travel in halves. */
static void uc_entry(unsigned fn_lo, unsigned fn_hi, unsigned arg_lo,
		     unsigned arg_hi)
{
	fiber_fn fn = (fiber_fn)(((uintptr_t)fn_hi << 32) | fn_lo);
	void *arg = (void *)(((uintptr_t)arg_hi << 32) | arg_lo);
	fn(arg);
	assert(!"fiber function returned");
}
#endif

int fiber_create(struct fiber *f, size_t stack_size, fiber_fn fn, void *arg)
{
	assert(f && fn);
	memset(f, 0, sizeof(*f));
	long page = sysconf(_SC_PAGESIZE);
	size_t pg = page > 0 ? (size_t)page : 4096;
	stack_size = (stack_size + pg - 1) / pg * pg;
	size_t total = stack_size + GUARD_SIZE;
	/* The pages are committed on first touch: a 1 MiB stack costs what
	 * the program really uses.  The lowest page stays inaccessible so
	 * that an overflow faults instead of corrupting a neighbour. */
	char *map = mmap(NULL, total, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (map == MAP_FAILED)
		return -ENOMEM;
	stack_shadow_clear(map, total);
	if (mprotect(map, GUARD_SIZE, PROT_NONE)) {
		munmap(map, total);
		return -ENOMEM;
	}
	f->map = map;
	f->map_size = total;
	f->stack_lo = map + GUARD_SIZE;
	f->stack_size = stack_size;
#ifdef VMLAB_FIBER_UCONTEXT
	if (getcontext(&f->uc)) {
		fiber_destroy(f);
		return -ENOMEM;
	}
	f->uc.uc_stack.ss_sp = map + GUARD_SIZE;
	f->uc.uc_stack.ss_size = stack_size;
	f->uc.uc_link = NULL;
	uintptr_t fp = (uintptr_t)fn, ap = (uintptr_t)arg;
	makecontext(&f->uc, (void (*)(void))uc_entry, 4, (unsigned)fp,
		    (unsigned)(fp >> 32), (unsigned)ap, (unsigned)(ap >> 32));
#else
	uintptr_t top = ((uintptr_t)map + total) & ~(uintptr_t)15;
	/* After the 8 popped words and the `ret`, rsp = top - 16: 16-byte
	 * aligned before the trampoline's call, as the ABI wants. */
	uint64_t *sp = (uint64_t *)(top - 80);
	uint32_t mxcsr;
	uint16_t fpucw;
	__asm__ volatile("stmxcsr %0" : "=m"(mxcsr));
	__asm__ volatile("fnstcw %0" : "=m"(fpucw));
	sp[0] = (uint64_t)mxcsr | ((uint64_t)fpucw << 32);
	sp[1] = 0;                              /* r15 */
	sp[2] = 0;                              /* r14 */
	sp[3] = (uint64_t)(uintptr_t)fn;        /* r13 */
	sp[4] = (uint64_t)(uintptr_t)arg;       /* r12 */
	sp[5] = 0;                              /* rbx */
	sp[6] = 0;                              /* rbp */
	sp[7] = (uint64_t)(uintptr_t)vmlab_sim_fiber_trampoline;
	sp[8] = 0;
	sp[9] = 0;
	f->sp = sp;
#endif
	return 0;
}

void fiber_destroy(struct fiber *f)
{
	if (!f || !f->map)
		return;
	stack_shadow_clear(f->map, f->map_size);
	munmap(f->map, f->map_size);
	f->map = NULL;
	f->sp = NULL;
}

void fiber_switch(struct fiber *from, struct fiber *to, int from_exiting)
{
	assert(from && to && from != to);
#if SIM_FIBER_ASAN
	__sanitizer_start_switch_fiber(from_exiting ? NULL : &from->fake_stack,
				       to->stack_lo, to->stack_size);
#else
	(void)from_exiting;
#endif
#ifdef VMLAB_FIBER_UCONTEXT
	int err = swapcontext(&from->uc, &to->uc);
	assert(!err);
	(void)err;
#else
	vmlab_sim_ctx_switch(&from->sp, to->sp);
#endif
#if SIM_FIBER_ASAN
	__sanitizer_finish_switch_fiber(from->fake_stack, NULL, NULL);
#endif
}

void fiber_started(struct fiber *from)
{
	(void)from; /* used by the assertion and the ASan hooks only */
	assert(from);
#if SIM_FIBER_ASAN
	/* The stack we came from: how the main stack's bounds are learned
	 * (the first fiber is always started from the main context). */
	const void *lo;
	size_t size;
	__sanitizer_finish_switch_fiber(NULL, &lo, &size);
	if (!from->map) {
		from->stack_lo = lo;
		from->stack_size = size;
	}
#endif
}
