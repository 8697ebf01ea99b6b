// Guest code of the KVM usability probe (kvm_probe.c), x86_64. It is data to the host: the
// probe copies the bytes between sandnet_kvm_guest_x86_64_start and _end to guest physical
// address 0x8000 and starts a vCPU there in real mode. The guest walks the path a Linux
// boot takes (real mode -> protected mode -> long mode with paging) and then waits for
// local APIC timer interrupts, reporting each step on I/O port 0x10 (one byte, the stage):
//   1 real mode runs        2 protected mode        3 long mode with 4-level paging
//   4 IDT loaded and LAPIC timer armed             5 a timer interrupt was handled
//   6 three timer interrupts were handled
//   7 a compute loop of LOOP iterations finished (the host times it against the same loop
//     run natively: an emulating "hypervisor" passes 1-6 and is a thousand times slower here)
// The host (kvm_probe.c) builds the page tables at 0x1000-0x4fff before the vCPU starts:
// 0-2 MiB identity-mapped, and the 2 MiB page holding the LAPIC at 0xfee00000.
#if defined(__x86_64__) && defined(__linux__)
#define BASE 0x8000
#define A(label) ((label) - sandnet_kvm_guest_x86_64_start + BASE)
#define PORT 0x10
#define IDT 0x6000
#define TICKS 0x7f00
#define LAPIC 0xfee00000
#define TIMER_VECTOR 0x40
#define LOOP 0x400000

    .section .rodata
    .globl sandnet_kvm_guest_x86_64_start
    .globl sandnet_kvm_guest_x86_64_end
    .p2align 4
sandnet_kvm_guest_x86_64_start:
    .code16
    cli
    mov $1, %al
    out %al, $PORT
    xor %ax, %ax
    mov %ax, %ds
    lgdtl A(gdtr)
    mov %cr0, %eax
    or $1, %eax                      // CR0.PE
    mov %eax, %cr0
    ljmpl $0x08, $A(protected32)

    .code32
protected32:
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov $0x7000, %esp
    mov $2, %al
    out %al, $PORT
    mov $0x1000, %eax                // PML4, built by the host
    mov %eax, %cr3
    mov %cr4, %eax
    or $0x20, %eax                   // CR4.PAE
    mov %eax, %cr4
    mov $0xc0000080, %ecx            // EFER
    rdmsr
    or $0x100, %eax                  // EFER.LME
    wrmsr
    mov %cr0, %eax
    or $0x80000000, %eax             // CR0.PG: long mode is active from here
    mov %eax, %cr0
    ljmp $0x18, $A(long64)

    .code64
long64:
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov $0x7000, %rsp
    mov $3, %al
    out %al, $PORT
    // One 64-bit interrupt gate: vector TIMER_VECTOR -> timer, selector 0x18, present, DPL 0.
    movl $(0x180000 + A(timer)), IDT + TIMER_VECTOR * 16
    movl $0x8e00, IDT + TIMER_VECTOR * 16 + 4
    movl $0, IDT + TIMER_VECTOR * 16 + 8
    movl $0, IDT + TIMER_VECTOR * 16 + 12
    lidt A(idtr)
    movl $0, TICKS
    mov $LAPIC, %edi
    movl $0x1ff, 0xf0(%rdi)          // spurious-interrupt vector register: APIC on
    movl $0xb, 0x3e0(%rdi)           // divide by 1
    movl $(0x20000 + TIMER_VECTOR), 0x320(%rdi)  // LVT timer: periodic
    movl $0x200000, 0x380(%rdi)      // initial count
    mov $4, %al
    out %al, $PORT
    sti
idle:
    hlt
    cmpl $3, TICKS
    jb idle
    cli
    movl $0, 0x380(%rdi)             // timer off: nothing interrupts the measurement
    // Pure computation, the loop kvm_probe.c also times on the host: LOOP iterations of a
    // dependent add (a few milliseconds natively).
    mov $LOOP, %ecx
    xor %eax, %eax
2:
    add %ecx, %eax
    dec %ecx
    jnz 2b
    mov $7, %al
    out %al, $PORT
4:
    hlt
    jmp 4b

timer:
    push %rax
    push %rdi
    incl TICKS
    mov $LAPIC, %edi
    movl $0, 0xb0(%rdi)              // EOI
    mov $5, %al
    cmpl $3, TICKS
    jne 1f
    mov $6, %al
1:
    out %al, $PORT
    pop %rdi
    pop %rax
    iretq

    .p2align 3
gdt:
    .quad 0
    .quad 0x00cf9a000000ffff         // 0x08: 32-bit code
    .quad 0x00cf92000000ffff         // 0x10: data
    .quad 0x00af9a000000ffff         // 0x18: 64-bit code
gdtr:
    .word 31
    .long A(gdt)
idtr:
    .word 256 * 16 - 1
    .quad IDT
sandnet_kvm_guest_x86_64_end:
#endif
#if defined(__aarch64__)
    .section .note.GNU-stack, "", %progbits
#else
    .section .note.GNU-stack, "", @progbits
#endif
