/* An AVX2-only CPU, as far as the software can tell, on a CPU with AVX-512.
 *
 * Why: environment caps (ONEDNN_MAX_CPU_ISA, ATEN_CPU_CAPABILITY, MKL_ENABLE_INSTRUCTIONS) reach
 * torch, oneDNN and MKL, but ONNX Runtime's MLAS, numpy and others pick their kernels from the
 * CPUID instruction alone, so on an AVX-512 machine they ran AVX-512 in every "AVX2 stand-in" so
 * far. Linux can make CPUID fault (ARCH_SET_CPUID, on CPUs that report `cpuid_fault`); this
 * library, loaded with LD_PRELOAD, records the real answers at start-up, turns faulting on, and
 * answers every later CPUID from that record with the AVX-512, AVX-VNNI, AVX512-BF16 and AMX bits
 * cleared. The setting survives fork and clone and is undone by exec, where LD_PRELOAD loads the
 * library again. The microarchitecture (clock, caches, the width of the FMA pipes) stays the
 * machine's own: a stand-in for the instruction set, not for an older core.
 *
 * A program that installs its own SIGSEGV handler keeps it: sigaction/signal for SIGSEGV are
 * intercepted, stored, and called for every fault that is not a CPUID.
 * AVX2_STANDIN_LOG=1 prints each CPUID answered (leaf, subleaf) to stderr.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#define ARCH_SET_CPUID 0x1012
#define SUBLEAVES 64

typedef struct {
    uint32_t leaf, subleaf, regs[4]; /* eax ebx ecx edx */
} entry;

static entry table[4096];
static int entries;
static int logging;
static struct sigaction app_handler; /* the program's own SIGSEGV handler, if it set one */
static int (*real_sigaction)(int, const struct sigaction *, struct sigaction *);
static sighandler_t (*real_signal)(int, sighandler_t);

static void cpuid(uint32_t leaf, uint32_t subleaf, uint32_t r[4]) {
    __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
                     : "a"(leaf), "c"(subleaf));
}

static void mask(uint32_t leaf, uint32_t subleaf, uint32_t r[4]) {
    if (leaf == 7 && subleaf == 0) {
        /* ebx: AVX512F 16, DQ 17, IFMA 21, PF 26, ER 27, CD 28, BW 30, VL 31 */
        r[1] &= ~((1u << 16) | (1u << 17) | (1u << 21) | (1u << 26) | (1u << 27) | (1u << 28) |
                  (1u << 30) | (1u << 31));
        /* ecx: VBMI 1, VBMI2 6, VNNI 11, BITALG 12, VPOPCNTDQ 14 */
        r[2] &= ~((1u << 1) | (1u << 6) | (1u << 11) | (1u << 12) | (1u << 14));
        /* edx: 4VNNIW 2, 4FMAPS 3, VP2INTERSECT 8, AMX-BF16 22, AVX512-FP16 23, AMX-TILE 24,
           AMX-INT8 25 */
        r[3] &= ~((1u << 2) | (1u << 3) | (1u << 8) | (1u << 22) | (1u << 23) | (1u << 24) |
                  (1u << 25));
    } else if (leaf == 7 && subleaf == 1) {
        r[0] &= ~((1u << 4) | (1u << 5)); /* AVX-VNNI 4, AVX512-BF16 5 */
    }
}

static void record_range(uint32_t first) {
    uint32_t r[4];
    cpuid(first, 0, r);
    uint32_t last = r[0];
    if (last < first || last - first > 64) last = first;
    for (uint32_t leaf = first; leaf <= last; leaf++) {
        for (uint32_t sub = 0; sub < SUBLEAVES && entries < 4096; sub++) {
            entry *e = &table[entries++];
            e->leaf = leaf;
            e->subleaf = sub;
            cpuid(leaf, sub, e->regs);
            mask(leaf, sub, e->regs);
        }
    }
}

static void answer(ucontext_t *uc) {
    greg_t *g = uc->uc_mcontext.gregs;
    uint32_t leaf = (uint32_t)g[REG_RAX], sub = (uint32_t)g[REG_RCX];
    uint32_t out[4] = {0, 0, 0, 0};
    for (int i = 0; i < entries; i++) {
        if (table[i].leaf == leaf && table[i].subleaf == (sub < SUBLEAVES ? sub : 0)) {
            memcpy(out, table[i].regs, sizeof out);
            break;
        }
    }
    g[REG_RAX] = out[0];
    g[REG_RBX] = out[1];
    g[REG_RCX] = out[2];
    g[REG_RDX] = out[3];
    g[REG_RIP] += 2;
    if (logging) {
        char line[64];
        int n = snprintf(line, sizeof line, "avx2-standin: cpuid %#x/%u\n", leaf, sub);
        if (n > 0) (void)!write(2, line, (size_t)n);
    }
}

static void on_segv(int sig, siginfo_t *info, void *context) {
    ucontext_t *uc = context;
    const unsigned char *ip = (const unsigned char *)uc->uc_mcontext.gregs[REG_RIP];
    if (info->si_code == SI_KERNEL && ip[0] == 0x0f && ip[1] == 0xa2) {
        answer(uc);
        return;
    }
    if (app_handler.sa_flags & SA_SIGINFO) {
        app_handler.sa_sigaction(sig, info, context);
        return;
    }
    if (app_handler.sa_handler != SIG_DFL && app_handler.sa_handler != SIG_IGN) {
        app_handler.sa_handler(sig);
        return;
    }
    struct sigaction dfl = {0}; /* a real fault: die as the program would have */
    dfl.sa_handler = SIG_DFL;
    real_sigaction(SIGSEGV, &dfl, NULL);
    raise(SIGSEGV);
}

int sigaction(int sig, const struct sigaction *act, struct sigaction *old) {
    if (sig != SIGSEGV || real_sigaction == NULL) return real_sigaction(sig, act, old);
    if (old) *old = app_handler;
    if (act) app_handler = *act;
    return 0;
}

sighandler_t signal(int sig, sighandler_t handler) {
    if (sig != SIGSEGV || real_signal == NULL) return real_signal(sig, handler);
    sighandler_t previous = app_handler.sa_handler;
    memset(&app_handler, 0, sizeof app_handler);
    app_handler.sa_handler = handler;
    return previous;
}

__attribute__((constructor)) static void start(void) {
    real_sigaction = dlsym(RTLD_NEXT, "sigaction");
    real_signal = dlsym(RTLD_NEXT, "signal");
    logging = getenv("AVX2_STANDIN_LOG") != NULL;
    record_range(0);
    record_range(0x40000000);
    record_range(0x80000000);
    struct sigaction act = {0};
    act.sa_sigaction = on_segv;
    act.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&act.sa_mask);
    real_sigaction(SIGSEGV, &act, NULL);
    if (syscall(SYS_arch_prctl, ARCH_SET_CPUID, 0) != 0) {
        fprintf(stderr, "avx2-standin: this CPU or kernel cannot make CPUID fault "
                        "(no cpuid_fault); AVX-512 stays visible\n");
        exit(3);
    }
}
