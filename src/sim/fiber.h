/* SPDX-License-Identifier: MIT */
/*
 * Stackful contexts for simulated CPU programs.  A scheduling point deep
 * inside kernel code (a spin_lock in CPA, the IPI loop of a shootdown)
 * must be able to suspend the program that called into the kernel, C
 * frames and all, so each program runs on its own stack.
 *
 * x86-64 and aarch64 switch with a few instructions of assembly (no
 * signal-mask system call, unlike swapcontext()); other architectures use
 * ucontext.  Under AddressSanitizer every switch is announced with
 * __sanitizer_start_switch_fiber / __sanitizer_finish_switch_fiber.
 */
#ifndef VMLAB_SIM_FIBER_H
#define VMLAB_SIM_FIBER_H

#include <stddef.h>

#if defined(__SANITIZE_ADDRESS__)
#define SIM_FIBER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SIM_FIBER_ASAN 1
#endif
#endif
#ifndef SIM_FIBER_ASAN
#define SIM_FIBER_ASAN 0
#endif

#if !defined(VMLAB_FIBER_UCONTEXT) &&                                        \
	!(defined(__x86_64__) || defined(__aarch64__))
#define VMLAB_FIBER_UCONTEXT 1
#endif

#ifdef VMLAB_FIBER_UCONTEXT
#include <ucontext.h>
#endif

typedef void (*fiber_fn)(void *arg);

struct fiber {
	void *sp;          /* saved stack pointer (assembly switch) */
	char *map;         /* mmap'd region: guard page + stack; NULL: main */
	size_t map_size;
	/* ASan: bounds of this fiber's stack (learned for the main one). */
	const void *stack_lo;
	size_t stack_size;
	void *fake_stack;
#ifdef VMLAB_FIBER_UCONTEXT
	ucontext_t uc;
#endif
};

/* The context of the caller (the scheduler's own stack). */
void fiber_init_main(struct fiber *f);
/* A new context that will run fn(arg) when first switched to; fn must
 * never return (it switches away for good instead).  0 or -ENOMEM. */
int fiber_create(struct fiber *f, size_t stack_size, fiber_fn fn, void *arg);
void fiber_destroy(struct fiber *f);
/*
 * Suspend `from` and run `to`.  Returns when someone switches back to
 * `from`.  from_exiting: `from` will never run again (lets ASan drop its
 * fake stack).
 */
void fiber_switch(struct fiber *from, struct fiber *to, int from_exiting);
/* First thing a new fiber's fn calls (ASan bookkeeping); `from` is the
 * fiber that switched to it. */
void fiber_started(struct fiber *from);

#endif
