/*
 * XenLab's PVH test guest, written against Xen's public headers (Debian libxen-dev), booting the
 * way Mini-OS does: find Xen's CPUID leaves, install the hypercall page, print through console_io
 * and the console ring, map shared_info, take event upcalls on a vector, use XenStore over its
 * ring (read, write, permissions, a watch), ping-pong on an interdomain event channel with a peer
 * domain, grant a page that the peer maps, wait for a timer, and shut down when the toolstack
 * writes control/shutdown. Every step prints a line the test checks from outside.
 *
 * Command line: "role=ping peer=<domid> rounds=<n>" or "role=pong peer=<domid> rounds=<n>".
 */
#include <stdint.h>
#include <stddef.h>
/* Like Mini-OS: ask the headers for the current interface (otherwise they give the 2005 ABI,
   e.g. __HYPERVISOR_sched_op = sched_op_compat). */
#define __XEN_INTERFACE_VERSION__ 0x00040e00
#include <xen/xen.h>
#include <xen/version.h>
#include <xen/sched.h>
#include <xen/memory.h>
#include <xen/event_channel.h>
#include <xen/grant_table.h>
#include <xen/vcpu.h>
#include <xen/hvm/hvm_op.h>
#include <xen/hvm/params.h>
#include <xen/arch-x86/hvm/start_info.h>
#include <xen/arch-x86/cpuid.h>
#include <xen/io/console.h>
#include <xen/io/xs_wire.h>

#define PAGE_SIZE 4096
#define UPCALL_VECTOR 0xf3

char hypercall_page[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static shared_info_t shared_info_page __attribute__((aligned(PAGE_SIZE)));
static grant_entry_v1_t grant_table[PAGE_SIZE / sizeof(grant_entry_v1_t)] __attribute__((aligned(PAGE_SIZE)));
static char granted_page[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static char map_target[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static uint64_t idt[512] __attribute__((aligned(16)));

static volatile shared_info_t *shared = &shared_info_page;
static struct xencons_interface *cons;
static struct xenstore_domain_interface *store;
static evtchn_port_t cons_port, store_port, timer_port;
static volatile uint64_t fired[64];
static volatile unsigned upcalls;

/* ---- hypercalls through the page: RDI, RSI, RDX, R10, R8 (hypercall-abi.rst) ---- */
static inline long hc2(unsigned nr, unsigned long a1, unsigned long a2)
{
    long ret;
    register unsigned long rdi asm("rdi") = a1, rsi asm("rsi") = a2;
    void *stub = hypercall_page + nr * 32;
    asm volatile("call *%[stub]" : "=a"(ret), "+r"(rdi), "+r"(rsi) : [stub] "r"(stub) : "memory", "rcx", "rdx", "r8", "r9", "r10", "r11");
    return ret;
}
static inline long hc3(unsigned nr, unsigned long a1, unsigned long a2, unsigned long a3)
{
    long ret;
    register unsigned long rdi asm("rdi") = a1, rsi asm("rsi") = a2, rdx asm("rdx") = a3;
    void *stub = hypercall_page + nr * 32;
    asm volatile("call *%[stub]" : "=a"(ret), "+r"(rdi), "+r"(rsi), "+r"(rdx) : [stub] "r"(stub) : "memory", "rcx", "r8", "r9", "r10", "r11");
    return ret;
}
#define HYPERVISOR_console_io(cmd, n, s) hc3(__HYPERVISOR_console_io, cmd, n, (unsigned long)(s))
#define HYPERVISOR_sched_op(cmd, a) hc2(__HYPERVISOR_sched_op, cmd, (unsigned long)(a))
#define HYPERVISOR_event_channel_op(cmd, a) hc2(__HYPERVISOR_event_channel_op, cmd, (unsigned long)(a))
#define HYPERVISOR_memory_op(cmd, a) hc2(__HYPERVISOR_memory_op, cmd, (unsigned long)(a))
#define HYPERVISOR_hvm_op(cmd, a) hc2(__HYPERVISOR_hvm_op, cmd, (unsigned long)(a))
#define HYPERVISOR_grant_table_op(cmd, a, n) hc3(__HYPERVISOR_grant_table_op, cmd, (unsigned long)(a), n)
#define HYPERVISOR_xen_version(cmd, a) hc2(__HYPERVISOR_xen_version, cmd, (unsigned long)(a))
#define HYPERVISOR_set_timer_op(t) hc2(__HYPERVISOR_set_timer_op, t, 0)
#define HYPERVISOR_vcpu_op(cmd, v, a) hc3(__HYPERVISOR_vcpu_op, cmd, v, (unsigned long)(a))

/* ---- tiny libc ---- */
static size_t strlen(const char *s) { size_t n = 0; while (s[n]) n++; return n; }
static int strncmp(const char *a, const char *b, size_t n) { for (size_t i = 0; i < n; i++) { if (a[i] != b[i] || !a[i]) return (unsigned char)a[i] - (unsigned char)b[i]; } return 0; }
static void *memcpy(void *d, const void *s, size_t n) { char *dd = d; const char *ss = s; while (n--) *dd++ = *ss++; return d; }
static char *fmt_u(char *p, unsigned long v, int base) { char tmp[24]; int n = 0; do { tmp[n++] = "0123456789abcdef"[v % base]; v /= base; } while (v); while (n) *p++ = tmp[--n]; return p; }
static char *fmt_s(char *p, const char *s) { while (*s) *p++ = *s++; return p; }
static unsigned long parse_u(const char *s) { unsigned long v = 0; while (*s >= '0' && *s <= '9') v = v * 10 + (*s++ - '0'); return v; }

static inline void cpuid(uint32_t leaf, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d) { asm volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(0)); }
static inline void wrmsr(uint32_t msr, uint64_t v) { asm volatile("wrmsr" :: "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32))); }
static inline uint64_t rdtsc(void) { uint32_t lo, hi; asm volatile("rdtsc" : "=a"(lo), "=d"(hi)); return ((uint64_t)hi << 32) | lo; }
static inline void cli(void) { asm volatile("cli" ::: "memory"); }
/* sti's shadow covers one instruction: the nop opens the window in which a pending upcall is taken
   (the jmp also ends XenLab's translated block, whose interrupt check is per block). */
static inline void sti(void) { asm volatile("sti; nop; jmp 1f; 1:" ::: "memory"); }
static inline void wmb(void) { asm volatile("" ::: "memory"); }

/* ---- console: console_io early, then the ring (io/console.h) ---- */
static void xen_puts(const char *s) { HYPERVISOR_console_io(CONSOLEIO_write, strlen(s), s); }

static void notify(evtchn_port_t port) { evtchn_send_t send = { .port = port }; HYPERVISOR_event_channel_op(EVTCHNOP_send, &send); }

static void cons_write(const char *s)
{
    size_t n = strlen(s);
    XENCONS_RING_IDX prod = cons->out_prod;
    for (size_t i = 0; i < n; i++) cons->out[MASK_XENCONS_IDX(prod++, cons->out)] = s[i];
    wmb();
    cons->out_prod = prod;
    notify(cons_port);
}

/* printk: %s %u %x only, to the console ring */
static void printk(const char *f, ...)
{
    char buf[256], *p = buf;
    __builtin_va_list ap;
    __builtin_va_start(ap, f);
    for (; *f && p < buf + 200; f++) {
        if (*f != '%') { *p++ = *f; continue; }
        f++;
        if (*f == 's') p = fmt_s(p, __builtin_va_arg(ap, const char *));
        else if (*f == 'u') p = fmt_u(p, __builtin_va_arg(ap, unsigned long), 10);
        else if (*f == 'x') p = fmt_u(p, __builtin_va_arg(ap, unsigned long), 16);
    }
    __builtin_va_end(ap);
    *p = 0;
    cons_write(buf);
}

/* ---- events: upcall on a vector, 2-level scan as Mini-OS does (events.c) ---- */
struct interrupt_frame;
__attribute__((interrupt)) static void upcall(struct interrupt_frame *frame)
{
    (void)frame;
    vcpu_info_t *vi = (vcpu_info_t *)&shared->vcpu_info[0];
    upcalls++;
    vi->evtchn_upcall_pending = 0;
    xen_ulong_t sel = __atomic_exchange_n(&vi->evtchn_pending_sel, 0, __ATOMIC_SEQ_CST);
    while (sel) {
        unsigned w = __builtin_ctzl(sel);
        sel &= sel - 1;
        xen_ulong_t pend = shared->evtchn_pending[w] & ~shared->evtchn_mask[w];
        while (pend) {
            unsigned b = __builtin_ctzl(pend);
            pend &= pend - 1;
            __atomic_and_fetch(&((xen_ulong_t *)shared->evtchn_pending)[w], ~(1UL << b), __ATOMIC_SEQ_CST);
            fired[w] |= 1UL << b;
        }
    }
}

static int take(evtchn_port_t p)
{
    uint64_t m = 1UL << (p & 63);
    if (fired[p >> 6] & m) { fired[p >> 6] &= ~m; return 1; }
    return 0;
}

/* Sleeps in SCHEDOP_block until `port` fired (cli/check/block/sti closes the race). */
static void wait_for(evtchn_port_t port)
{
    for (;;) {
        cli();
        if (take(port)) { sti(); return; }
        HYPERVISOR_sched_op(SCHEDOP_block, 0);
        sti();
    }
}

static void set_idt_gate(int vec, void (*h)(struct interrupt_frame *))
{
    uint64_t a = (uint64_t)h;
    idt[vec * 2] = (a & 0xffff) | (0x08UL << 16) | (0x8eUL << 40) | ((a >> 16 & 0xffff) << 48);
    idt[vec * 2 + 1] = a >> 32;
}

static uint64_t hvm_get(int idx)
{
    struct xen_hvm_param p = { .domid = DOMID_SELF, .index = idx };
    long rc = HYPERVISOR_hvm_op(HVMOP_get_param, &p);
    return rc ? (uint64_t)-1 : p.value;
}

/* ---- time: vcpu_time_info (xen.h) ---- */
static uint64_t now_ns(void)
{
    volatile struct vcpu_time_info *t = &shared->vcpu_info[0].time;
    uint32_t v;
    uint64_t ns;
    do {
        v = t->version;
        uint64_t d = rdtsc() - t->tsc_timestamp;
        if (t->tsc_shift >= 0) d <<= t->tsc_shift; else d >>= -t->tsc_shift;
        ns = t->system_time + (uint64_t)(((unsigned __int128)d * t->tsc_to_system_mul) >> 32);
    } while ((v & 1) || v != t->version);
    return ns;
}

/* ---- XenStore over the ring (io/xs_wire.h) ---- */
static uint32_t req_id;
static volatile unsigned watch_events;
static char watch_path[128];

static void xs_write_ring(const void *data, uint32_t len)
{
    const char *d = data;
    for (uint32_t i = 0; i < len;) {
        XENSTORE_RING_IDX prod = store->req_prod;
        if (prod - store->req_cons >= XENSTORE_RING_SIZE) { wait_for(store_port); continue; }
        store->req[MASK_XENSTORE_IDX(prod)] = d[i++];
        wmb();
        store->req_prod = prod + 1;
    }
}

static void xs_read_ring(void *out, uint32_t len)
{
    char *o = out;
    for (uint32_t i = 0; i < len;) {
        XENSTORE_RING_IDX cons_i = store->rsp_cons;
        if (store->rsp_prod == cons_i) { wait_for(store_port); continue; }
        o[i++] = store->rsp[MASK_XENSTORE_IDX(cons_i)];
        store->rsp_cons = cons_i + 1;
    }
}

/* One request; returns the reply type, reply payload in `out` (NUL terminated). Watch events read
   on the way are counted. */
static uint32_t xs_talk(uint32_t type, uint32_t tx, const char *a, const char *b, size_t blen, char *out, size_t outsz)
{
    struct xsd_sockmsg m = { .type = type, .req_id = ++req_id, .tx_id = tx, .len = strlen(a) + 1 + (b ? blen : 0) };
    xs_write_ring(&m, sizeof m);
    xs_write_ring(a, strlen(a) + 1);
    if (b) xs_write_ring(b, blen);
    notify(store_port);
    for (;;) {
        struct xsd_sockmsg r;
        char body[XENSTORE_PAYLOAD_MAX + 1];
        xs_read_ring(&r, sizeof r);
        xs_read_ring(body, r.len);
        body[r.len] = 0;
        notify(store_port);
        if (r.type == XS_WATCH_EVENT) { watch_events++; memcpy(watch_path, body, r.len < 127 ? r.len + 1 : 127); continue; }
        if (r.req_id != m.req_id) continue;
        if (out) { size_t n = r.len < outsz - 1 ? r.len : outsz - 1; memcpy(out, body, n); out[n] = 0; }
        return r.type;
    }
}

/* Waits for the next watch event (the ring may hold one already). */
static void xs_wait_watch(unsigned seen)
{
    while (watch_events == seen) {
        XENSTORE_RING_IDX avail = store->rsp_prod - store->rsp_cons;
        if (avail >= sizeof(struct xsd_sockmsg)) {
            struct xsd_sockmsg r;
            char body[XENSTORE_PAYLOAD_MAX + 1];
            xs_read_ring(&r, sizeof r);
            xs_read_ring(body, r.len);
            body[r.len] = 0;
            if (r.type == XS_WATCH_EVENT) { watch_events++; memcpy(watch_path, body, r.len < 127 ? r.len + 1 : 127); }
            continue;
        }
        wait_for(store_port);
    }
}

static void xs_write(const char *path, const char *val) { char r[32]; xs_talk(XS_WRITE, 0, path, val, strlen(val), r, sizeof r); }

/* ---- main ---- */
static const char *arg(const char *cmdline, const char *key)
{
    size_t k = strlen(key);
    for (const char *p = cmdline; p && *p; p++)
        if ((p == cmdline || p[-1] == ' ') && !strncmp(p, key, k) && p[k] == '=') return p + k + 1;
    return "";
}

void guest_main(uint32_t start_info_pa)
{
    struct hvm_start_info *si = (struct hvm_start_info *)(uintptr_t)start_info_pa;
    uint32_t a, b, c, d, base;

    /* hpc_init: find "XenVMMXenVMM" in 0x40000000 + k*0x100 with at least two leaves */
    for (base = XEN_CPUID_FIRST_LEAF; base < XEN_CPUID_FIRST_LEAF + 0x10000; base += 0x100) {
        cpuid(base, &a, &b, &c, &d);
        if (b == XEN_CPUID_SIGNATURE_EBX && c == XEN_CPUID_SIGNATURE_ECX && d == XEN_CPUID_SIGNATURE_EDX && a - base >= 2) break;
    }
    cpuid(base + 2, &a, &b, &c, &d);
    wrmsr(b, (uint64_t)(uintptr_t)hypercall_page);

    xen_puts("Bootstrapping...\n");
    char line[160], *p = line;
    long ver = HYPERVISOR_xen_version(XENVER_version, 0);
    p = fmt_s(p, "xen_version ");
    p = fmt_u(p, ver >> 16, 10); *p++ = '.'; p = fmt_u(p, ver & 0xffff, 10);
    p = fmt_s(p, " magic "); p = fmt_u(p, si->magic, 16);
    p = fmt_s(p, " memmap "); p = fmt_u(p, si->memmap_entries, 10);
    p = fmt_s(p, " ram "); p = fmt_u(p, ((struct hvm_memmap_table_entry *)(uintptr_t)si->memmap_paddr)[0].size >> 20, 10);
    p = fmt_s(p, "MiB\n"); *p = 0;
    xen_puts(line);

    const char *cmdline = si->cmdline_paddr ? (const char *)(uintptr_t)si->cmdline_paddr : "";
    int ping = !strncmp(arg(cmdline, "role"), "ping", 4);
    domid_t peer = parse_u(arg(cmdline, "peer"));
    unsigned rounds = parse_u(arg(cmdline, "rounds"));

    /* trap_init: IDT with the upcall vector; HVM_PARAM_CALLBACK_IRQ = 2<<56 | vector */
    set_idt_gate(UPCALL_VECTOR, upcall);
    struct { uint16_t limit; uint64_t base; } __attribute__((packed)) idtr = { sizeof idt - 1, (uint64_t)idt };
    asm volatile("lidt %0" :: "m"(idtr));
    struct xen_hvm_param cb = { .domid = DOMID_SELF, .index = HVM_PARAM_CALLBACK_IRQ, .value = (2ULL << 56) | UPCALL_VECTOR };
    HYPERVISOR_hvm_op(HVMOP_set_param, &cb);

    /* map_shared_info: XENMEM_add_to_physmap(XENMAPSPACE_shared_info) */
    struct xen_add_to_physmap xatp = { .domid = DOMID_SELF, .space = XENMAPSPACE_shared_info, .idx = 0, .gpfn = (uintptr_t)&shared_info_page >> 12 };
    long rc = HYPERVISOR_memory_op(XENMEM_add_to_physmap, &xatp);

    cons = (struct xencons_interface *)(uintptr_t)(hvm_get(HVM_PARAM_CONSOLE_PFN) << 12);
    cons_port = hvm_get(HVM_PARAM_CONSOLE_EVTCHN);
    store = (struct xenstore_domain_interface *)(uintptr_t)(hvm_get(HVM_PARAM_STORE_PFN) << 12);
    store_port = hvm_get(HVM_PARAM_STORE_EVTCHN);
    sti();
    printk("console ring up: port %u, shared_info rc %u\n", cons_port, (unsigned long)-rc);

    /* XenStore: read our name and domid, write and read back a key */
    char name[64], domid_s[16], val[64];
    xs_talk(XS_READ, 0, "name", 0, 0, name, sizeof name);
    xs_talk(XS_READ, 0, "domid", 0, 0, domid_s, sizeof domid_s);
    xs_write("data/hello", "world");
    xs_talk(XS_READ, 0, "data/hello", 0, 0, val, sizeof val);
    char err_s[32];
    uint32_t t = xs_talk(XS_READ, 0, "/local/domain/0/name", 0, 0, err_s, sizeof err_s);
    printk("xenstore: name=%s domid=%s data/hello=%s dom0-name=%s\n", name, domid_s, val, t == XS_ERROR ? err_s : "readable");

    /* timer: bind VIRQ_TIMER, set a one-shot 1 ms ahead, block until it fires */
    struct evtchn_bind_virq bv = { .virq = VIRQ_TIMER, .vcpu = 0 };
    HYPERVISOR_event_channel_op(EVTCHNOP_bind_virq, &bv);
    timer_port = bv.port;
    uint64_t t0 = now_ns();
    HYPERVISOR_set_timer_op(t0 + 1000000);
    wait_for(timer_port);
    uint64_t t1 = now_ns();
    printk("timer: port %u slept %u us\n", timer_port, (t1 - t0) / 1000);

    unsigned count = 0;
    if (!strncmp(arg(cmdline, "role"), "xsbench", 7)) {
        /* XenStore request rate over the ring: `rounds` XS_READs, then power off. */
        for (count = 0; count < rounds; count++) xs_talk(XS_READ, 0, "name", 0, 0, val, sizeof val);
        printk("xsbench: %u reads of name=%s\n", count, val);
        struct sched_shutdown off = { .reason = SHUTDOWN_poweroff };
        HYPERVISOR_sched_op(SCHEDOP_shutdown, &off);
    }
    if (ping) {
        /* Offer an unbound port and a grant to the peer through XenStore. */
        struct evtchn_alloc_unbound au = { .dom = DOMID_SELF, .remote_dom = peer };
        HYPERVISOR_event_channel_op(EVTCHNOP_alloc_unbound, &au);
        struct xen_add_to_physmap gt = { .domid = DOMID_SELF, .space = XENMAPSPACE_grant_table, .idx = 0, .gpfn = (uintptr_t)grant_table >> 12 };
        HYPERVISOR_memory_op(XENMEM_add_to_physmap, &gt);
        memcpy(granted_page, "granted by ping", 16);
        grant_ref_t ref = GNTTAB_NR_RESERVED_ENTRIES;
        grant_table[ref].domid = peer;
        grant_table[ref].frame = (uintptr_t)granted_page >> 12;
        wmb();
        grant_table[ref].flags = GTF_permit_access;
        char num[16], perms[32], *q = perms;
        *fmt_u(num, au.port, 10) = 0;
        xs_write("data/port", num);
        *fmt_u(num, ref, 10) = 0;
        xs_write("data/gref", num);
        /* let the peer read them: owner us (no access for others), read for the peer */
        *q++ = 'n'; q = fmt_u(q, parse_u(domid_s), 10); *q++ = 0;
        *q++ = 'r'; q = fmt_u(q, peer, 10); *q++ = 0;
        size_t plen = q - perms;
        xs_talk(XS_SET_PERMS, 0, "data/port", perms, plen, 0, 0);
        xs_talk(XS_SET_PERMS, 0, "data/gref", perms, plen, 0, 0);
        xs_write("data/ready", "1");
        xs_talk(XS_SET_PERMS, 0, "data/ready", perms, plen, 0, 0);
        printk("ping: offered port %u and gref %u to d%u\n", au.port, ref, peer);
        /* ping-pong: the peer starts */
        while (count < rounds) {
            wait_for(au.port);
            count++;
            notify(au.port);
        }
        printk("ping: %u round trips, %u upcalls\n", count, upcalls);
        /* the peer has mapped our grant and written into it: look at the flags Xen set */
        wait_for(au.port);
        uint16_t busy = grant_table[ref].flags;
        printk("ping: grant flags while mapped 0x%x, page says \"%s\"\n", busy, granted_page + 64);
        notify(au.port);
        wait_for(au.port);
        printk("ping: grant flags after unmap 0x%x\n", grant_table[ref].flags);
        grant_table[ref].flags = 0;
    } else {
        /* Watch the peer's key until it is there and readable. */
        char path[64], *q = path, port_s[16], gref_s[16];
        q = fmt_s(q, "/local/domain/"); q = fmt_u(q, peer, 10); q = fmt_s(q, "/data/ready"); *q = 0;
        xs_talk(XS_WATCH, 0, path, "peer\0", 5, 0, 0);
        unsigned seen = 0, tries = 0;
        for (;;) {
            xs_wait_watch(seen);
            seen = watch_events;
            tries++;
            if (xs_talk(XS_READ, 0, path, 0, 0, val, sizeof val) == XS_READ) break;
        }
        q = path; q = fmt_s(q, "/local/domain/"); q = fmt_u(q, peer, 10); q = fmt_s(q, "/data/port"); *q = 0;
        xs_talk(XS_READ, 0, path, 0, 0, port_s, sizeof port_s);
        q = path; q = fmt_s(q, "/local/domain/"); q = fmt_u(q, peer, 10); q = fmt_s(q, "/data/gref"); *q = 0;
        xs_talk(XS_READ, 0, path, 0, 0, gref_s, sizeof gref_s);
        printk("pong: watch fired %u times, peer port %s gref %s\n", watch_events, port_s, gref_s);
        struct evtchn_bind_interdomain bi = { .remote_dom = peer, .remote_port = parse_u(port_s) };
        rc = HYPERVISOR_event_channel_op(EVTCHNOP_bind_interdomain, &bi);
        take(bi.local_port); /* Xen marks a fresh binding pending */
        printk("pong: bound local port %u rc %u\n", bi.local_port, (unsigned long)-rc);
        while (count < rounds) {
            notify(bi.local_port);
            wait_for(bi.local_port);
            count++;
        }
        printk("pong: %u round trips\n", count);
        /* Map the peer's grant, read it, answer in it. */
        struct gnttab_map_grant_ref map = { .host_addr = (uintptr_t)map_target, .flags = GNTMAP_host_map, .ref = parse_u(gref_s), .dom = peer };
        HYPERVISOR_grant_table_op(GNTTABOP_map_grant_ref, &map, 1);
        printk("pong: map status %u handle %u reads \"%s\"\n", (unsigned long)(int16_t)-map.status, map.handle, map_target);
        memcpy(map_target + 64, "pong was here", 14);
        notify(bi.local_port);
        wait_for(bi.local_port);
        struct gnttab_unmap_grant_ref unmap = { .host_addr = (uintptr_t)map_target, .handle = map.handle };
        HYPERVISOR_grant_table_op(GNTTABOP_unmap_grant_ref, &unmap, 1);
        printk("pong: unmap status %u\n", (unsigned long)(int16_t)-unmap.status);
        notify(bi.local_port);
    }

    /* Wait for the toolstack's control/shutdown request, acknowledge it, and obey. */
    xs_talk(XS_WATCH, 0, "control/shutdown", "ctl\0", 4, 0, 0);
    unsigned seen = watch_events;
    char req[32];
    for (;;) {
        xs_wait_watch(seen);
        seen = watch_events;
        if (xs_talk(XS_READ, 0, "control/shutdown", 0, 0, req, sizeof req) == XS_READ && req[0]) break;
    }
    printk("shutdown requested: %s\n", req);
    xs_write("control/shutdown", "");
    struct sched_shutdown sd = { .reason = !strncmp(req, "reboot", 6) ? SHUTDOWN_reboot : SHUTDOWN_poweroff };
    HYPERVISOR_sched_op(SCHEDOP_shutdown, &sd);
    for (;;) HYPERVISOR_sched_op(SCHEDOP_yield, 0);
}
