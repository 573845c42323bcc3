/*
 * XenLab's blkfront test guest: a PVH guest (booted by pvh-start.S like pvh-guest.c) that finds its
 * virtual block device in XenStore and drives it the way Linux's xen-blkfront does, with Xen's own
 * headers (Debian libxen-dev: io/blkif.h, io/ring.h, io/xenbus.h, grant_table.h):
 *   - waits for the backend's InitWait, allocates and grants the shared ring, offers an unbound event
 *     channel, writes ring-ref / event-channel / protocol in a transaction, switches to Initialised;
 *   - on the backend's Connected reads sectors / info / sector-size / feature-flush-cache, switches to
 *     Connected;
 *   - grants data pages per request (GTF_readonly for writes) and ends access after the answer,
 *     pushes with RING_PUSH_REQUESTS_AND_CHECK_NOTIFY and waits with RING_FINAL_CHECK_FOR_RESPONSES.
 * Every result is printed on the console for the test to check from the host side.
 *
 * Command line: "mode=check write=<sector>" | "mode=ro" | "mode=bench kib=<n> depth=<requests in flight>", plus "then=wait" to
 * stay connected until the backend closes (block-detach), else power off when done.
 */
#include <stdint.h>
#include <stddef.h>
#define __XEN_INTERFACE_VERSION__ 0x00040e00
#include <xen/xen.h>
#include <xen/sched.h>
#include <xen/memory.h>
#include <xen/event_channel.h>
#include <xen/grant_table.h>
#include <xen/hvm/hvm_op.h>
#include <xen/hvm/params.h>
#include <xen/arch-x86/hvm/start_info.h>
#include <xen/arch-x86/cpuid.h>
#include <xen/io/console.h>
#include <xen/io/xs_wire.h>
#include <xen/io/xenbus.h>

/* ring.h wants the barriers from us at this interface version; x86-64 Linux's smp_mb. */
#define xen_mb() asm volatile("lock; addl $0,0(%%rsp)" ::: "memory")
#define xen_rmb() asm volatile("" ::: "memory")
#define xen_wmb() asm volatile("" ::: "memory")
static void *memset(void *d, int c, size_t n) { char *p = d; while (n--) *p++ = (char)c; return d; }
static void *memcpy(void *d, const void *s, size_t n) { char *dd = d; const char *ss = s; while (n--) *dd++ = *ss++; return d; }
#include <xen/io/blkif.h>

#define PAGE_SIZE 4096
#define UPCALL_VECTOR 0xf3
#define RING_GREF 8                  /* first ref after GNTTAB_NR_RESERVED_ENTRIES */
#define DATA_GREF0 9
#define NPAGES (32 * BLKIF_MAX_SEGMENTS_PER_REQUEST)

char hypercall_page[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static shared_info_t shared_info_page __attribute__((aligned(PAGE_SIZE)));
static grant_entry_v1_t grant_table[PAGE_SIZE / sizeof(grant_entry_v1_t)] __attribute__((aligned(PAGE_SIZE)));
static char ring_page[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static unsigned char data[NPAGES][PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static uint64_t idt[512] __attribute__((aligned(16)));

static volatile shared_info_t *shared = &shared_info_page;
static struct xencons_interface *cons;
static struct xenstore_domain_interface *store;
static evtchn_port_t cons_port, store_port, blk_port;
static volatile uint64_t fired[64];

/* ---- hypercalls through the page (hypercall-abi.rst) ---- */
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
#define HYPERVISOR_sched_op(cmd, a) hc2(__HYPERVISOR_sched_op, cmd, (unsigned long)(a))
#define HYPERVISOR_event_channel_op(cmd, a) hc2(__HYPERVISOR_event_channel_op, cmd, (unsigned long)(a))
#define HYPERVISOR_memory_op(cmd, a) hc2(__HYPERVISOR_memory_op, cmd, (unsigned long)(a))
#define HYPERVISOR_hvm_op(cmd, a) hc2(__HYPERVISOR_hvm_op, cmd, (unsigned long)(a))

/* ---- tiny libc ---- */
static size_t strlen(const char *s) { size_t n = 0; while (s[n]) n++; return n; }
static int strncmp(const char *a, const char *b, size_t n) { for (size_t i = 0; i < n; i++) { if (a[i] != b[i] || !a[i]) return (unsigned char)a[i] - (unsigned char)b[i]; } return 0; }
static char *fmt_u(char *p, unsigned long v, int base) { char tmp[24]; int n = 0; do { tmp[n++] = "0123456789abcdef"[v % base]; v /= base; } while (v); while (n) *p++ = tmp[--n]; return p; }
static char *fmt_s(char *p, const char *s) { while (*s) *p++ = *s++; return p; }
static unsigned long parse_u(const char *s) { unsigned long v = 0; while (*s >= '0' && *s <= '9') v = v * 10 + (*s++ - '0'); return v; }

static inline void cpuid(uint32_t leaf, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d) { asm volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(0)); }
static inline void wrmsr(uint32_t msr, uint64_t v) { asm volatile("wrmsr" :: "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32))); }
static inline void cli(void) { asm volatile("cli" ::: "memory"); }
static inline void sti(void) { asm volatile("sti; nop; jmp 1f; 1:" ::: "memory"); }

static void notify(evtchn_port_t port) { evtchn_send_t send = { .port = port }; HYPERVISOR_event_channel_op(EVTCHNOP_send, &send); }

static void cons_write(const char *s)
{
    size_t n = strlen(s);
    XENCONS_RING_IDX prod = cons->out_prod;
    for (size_t i = 0; i < n; i++) cons->out[MASK_XENCONS_IDX(prod++, cons->out)] = s[i];
    xen_wmb();
    cons->out_prod = prod;
    notify(cons_port);
}

/* printk: %s %u %x %d */
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
        else if (*f == 'd') { long v = __builtin_va_arg(ap, long); if (v < 0) { *p++ = '-'; v = -v; } p = fmt_u(p, v, 10); }
    }
    __builtin_va_end(ap);
    *p = 0;
    cons_write(buf);
}

/* ---- events: upcall on a vector, 2-level scan (Mini-OS events.c) ---- */
struct interrupt_frame;
__attribute__((interrupt)) static void upcall(struct interrupt_frame *frame)
{
    (void)frame;
    vcpu_info_t *vi = (vcpu_info_t *)&shared->vcpu_info[0];
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

/* ---- XenStore over the ring (io/xs_wire.h) ---- */
static uint32_t req_id;
static volatile unsigned watch_events;

static void xs_write_ring(const void *d0, uint32_t len)
{
    const char *d = d0;
    for (uint32_t i = 0; i < len;) {
        XENSTORE_RING_IDX prod = store->req_prod;
        if (prod - store->req_cons >= XENSTORE_RING_SIZE) { wait_for(store_port); continue; }
        store->req[MASK_XENSTORE_IDX(prod)] = d[i++];
        xen_wmb();
        store->req_prod = prod + 1;
    }
}

static void xs_read_ring(void *out, uint32_t len)
{
    char *o = out;
    for (uint32_t i = 0; i < len;) {
        XENSTORE_RING_IDX c = store->rsp_cons;
        if (store->rsp_prod == c) { wait_for(store_port); continue; }
        o[i++] = store->rsp[MASK_XENSTORE_IDX(c)];
        store->rsp_cons = c + 1;
    }
}

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
        if (r.type == XS_WATCH_EVENT) { watch_events++; continue; }
        if (r.req_id != m.req_id) continue;
        if (out) { size_t n = r.len < outsz - 1 ? r.len : outsz - 1; memcpy(out, body, n); out[n] = 0; }
        return r.type;
    }
}

static void xs_wait_watch(unsigned seen)
{
    while (watch_events == seen) {
        if (store->rsp_prod - store->rsp_cons >= sizeof(struct xsd_sockmsg)) {
            struct xsd_sockmsg r;
            char body[XENSTORE_PAYLOAD_MAX + 1];
            xs_read_ring(&r, sizeof r);
            xs_read_ring(body, r.len);
            if (r.type == XS_WATCH_EVENT) watch_events++;
            continue;
        }
        wait_for(store_port);
    }
}

static void xs_write(const char *path, const char *val, uint32_t tx) { char r[32]; xs_talk(XS_WRITE, tx, path, val, strlen(val), r, sizeof r); }
static unsigned long xs_read_u(const char *path) { char v[32]; if (xs_talk(XS_READ, 0, path, 0, 0, v, sizeof v) != XS_READ) return (unsigned long)-1; return parse_u(v); }

static char *path2(char *buf, const char *dir, const char *key) { char *q = fmt_s(buf, dir); *q++ = '/'; q = fmt_s(q, key); *q = 0; return buf; }

/* Waits until <be>/state reaches `want` (or beyond, for Closing/Closed checks the caller does). */
static unsigned long wait_backend_state(const char *be, unsigned long want)
{
    char p[128];
    path2(p, be, "state");
    for (;;) {
        unsigned seen = watch_events;
        unsigned long s = xs_read_u(p);
        if (s >= want) return s;
        xs_wait_watch(seen);
    }
}

/* ---- blkfront ---- */
static blkif_front_ring_t ring;
static domid_t backend_id;
static unsigned long nr_sectors, notifies, rsp_seen, grant_busy_at_end;
static int16_t status_of[64];

static void grant(grant_ref_t ref, void *page, int readonly)
{
    grant_table[ref].domid = backend_id;
    grant_table[ref].frame = (uintptr_t)page >> 12;
    xen_wmb();
    grant_table[ref].flags = GTF_permit_access | (readonly ? GTF_readonly : 0);
}

/* gnttab_end_foreign_access_ref: refuse while the backend still has it mapped. */
static void end_access(grant_ref_t ref)
{
    if (grant_table[ref].flags & (GTF_reading | GTF_writing)) grant_busy_at_end++;
    grant_table[ref].flags = 0;
}

/* Queues one request over `nseg` pages starting at data page `first_page`; sectors first..last in each. */
static void queue(uint8_t op, uint64_t sector, unsigned nseg, unsigned first_page, uint8_t first, uint8_t last, uint64_t id)
{
    blkif_request_t *r = RING_GET_REQUEST(&ring, ring.req_prod_pvt);
    r->operation = op;
    r->nr_segments = nseg;
    r->handle = 0;
    r->id = id;
    r->sector_number = sector;
    for (unsigned i = 0; i < nseg; i++) {
        grant_ref_t ref = DATA_GREF0 + first_page + i;
        grant(ref, data[first_page + i], op == BLKIF_OP_WRITE);
        r->seg[i].gref = ref;
        r->seg[i].first_sect = first;
        r->seg[i].last_sect = last;
    }
    ring.req_prod_pvt++;
}

static void push(void)
{
    int notify_needed;
    RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&ring, notify_needed);
    if (notify_needed) { notifies++; notify(blk_port); }
}

/* Consumes answers until `n` arrived; returns them through status_of[id & 63] and `done`. */
static void collect(unsigned n, void (*done)(blkif_response_t *))
{
    while (n) {
        RING_IDX prod = ring.sring->rsp_prod;
        xen_rmb();
        while (ring.rsp_cons != prod) {
            blkif_response_t *rsp = RING_GET_RESPONSE(&ring, ring.rsp_cons);
            status_of[rsp->id & 63] = rsp->status;
            rsp_seen++;
            if (done) done(rsp);
            ring.rsp_cons++;
            n--;
        }
        if (!n) break;
        int more;
        RING_FINAL_CHECK_FOR_RESPONSES(&ring, more);
        if (!more) wait_for(blk_port);
    }
}

static unsigned long fnv(const unsigned char *p, unsigned long n, unsigned long h)
{
    for (unsigned long i = 0; i < n; i++) { h ^= p[i]; h *= 0x100000001b3UL; }
    return h;
}
#define FNV0 0xcbf29ce484222325UL

/* One synchronous request; returns its status. */
static int16_t one(uint8_t op, uint64_t sector, unsigned nseg, unsigned first_page, uint8_t first, uint8_t last)
{
    static uint64_t next_id = 1;
    uint64_t id = next_id++;
    queue(op, sector, nseg, first_page, first, last, id);
    push();
    collect(1, 0);
    for (unsigned i = 0; i < nseg; i++) end_access(DATA_GREF0 + first_page + i);
    return status_of[id & 63];
}

/* bench: sequential reads of 11-page requests, up to the ring's 32 in flight */
static unsigned long bench_sum, bench_reqs, bench_next_sector, bench_errors;
static void bench_done(blkif_response_t *rsp)
{
    unsigned slot = rsp->id % 32;
    if (rsp->status) bench_errors++;
    for (unsigned i = 0; i < BLKIF_MAX_SEGMENTS_PER_REQUEST; i++) {
        const uint64_t *w = (const uint64_t *)data[slot * BLKIF_MAX_SEGMENTS_PER_REQUEST + i];
        for (unsigned s = 0; s < 8; s++) bench_sum += w[s * 64]; /* first word of each sector */
        end_access(DATA_GREF0 + slot * BLKIF_MAX_SEGMENTS_PER_REQUEST + i);
    }
}

static void bench(unsigned long kib, unsigned long depth)
{
    if (!depth || depth > RING_SIZE(&ring)) depth = RING_SIZE(&ring);
    unsigned long total = kib * 2, per = BLKIF_MAX_SEGMENTS_PER_REQUEST * 8, queued = 0, outstanding = 0;
    uint64_t id = 0;
    while (bench_next_sector < total || outstanding) {
        while (outstanding < depth && bench_next_sector + per <= total) {
            queue(BLKIF_OP_READ, bench_next_sector, BLKIF_MAX_SEGMENTS_PER_REQUEST, (id % 32) * BLKIF_MAX_SEGMENTS_PER_REQUEST, 0, 7, id);
            id++; bench_next_sector += per; outstanding++; queued++;
        }
        if (!outstanding) break; /* whole requests only: a tail shorter than one is not read */
        push();
        unsigned n = outstanding;
        collect(n, bench_done);
        outstanding = 0;
    }
    bench_reqs = queued;
}

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
    for (base = XEN_CPUID_FIRST_LEAF; base < XEN_CPUID_FIRST_LEAF + 0x10000; base += 0x100) {
        cpuid(base, &a, &b, &c, &d);
        if (b == XEN_CPUID_SIGNATURE_EBX && c == XEN_CPUID_SIGNATURE_ECX && d == XEN_CPUID_SIGNATURE_EDX && a - base >= 2) break;
    }
    cpuid(base + 2, &a, &b, &c, &d);
    wrmsr(b, (uint64_t)(uintptr_t)hypercall_page);
    const char *cmdline = si->cmdline_paddr ? (const char *)(uintptr_t)si->cmdline_paddr : "";

    set_idt_gate(UPCALL_VECTOR, upcall);
    struct { uint16_t limit; uint64_t base; } __attribute__((packed)) idtr = { sizeof idt - 1, (uint64_t)idt };
    asm volatile("lidt %0" :: "m"(idtr));
    struct xen_hvm_param cb = { .domid = DOMID_SELF, .index = HVM_PARAM_CALLBACK_IRQ, .value = (2ULL << 56) | UPCALL_VECTOR };
    HYPERVISOR_hvm_op(HVMOP_set_param, &cb);
    struct xen_add_to_physmap xatp = { .domid = DOMID_SELF, .space = XENMAPSPACE_shared_info, .idx = 0, .gpfn = (uintptr_t)&shared_info_page >> 12 };
    HYPERVISOR_memory_op(XENMEM_add_to_physmap, &xatp);
    struct xen_add_to_physmap gt = { .domid = DOMID_SELF, .space = XENMAPSPACE_grant_table, .idx = 0, .gpfn = (uintptr_t)grant_table >> 12 };
    HYPERVISOR_memory_op(XENMEM_add_to_physmap, &gt);
    cons = (struct xencons_interface *)(uintptr_t)(hvm_get(HVM_PARAM_CONSOLE_PFN) << 12);
    cons_port = hvm_get(HVM_PARAM_CONSOLE_EVTCHN);
    store = (struct xenstore_domain_interface *)(uintptr_t)(hvm_get(HVM_PARAM_STORE_PFN) << 12);
    store_port = hvm_get(HVM_PARAM_STORE_EVTCHN);
    sti();

    /* xenbus probe: the first device under device/vbd */
    char list[256], fe[64], be[128], p[160], v[64];
    if (xs_talk(XS_DIRECTORY, 0, "device/vbd", 0, 0, list, sizeof list) != XS_DIRECTORY || !list[0]) { printk("blkfront: no vbd\n"); goto off; }
    { char *q = fmt_s(fe, "device/vbd/"); q = fmt_s(q, list); *q = 0; }
    xs_talk(XS_READ, 0, path2(p, fe, "backend"), 0, 0, be, sizeof be);
    backend_id = xs_read_u(path2(p, fe, "backend-id"));
    unsigned long devid = parse_u(list);
    xs_talk(XS_WATCH, 0, path2(p, be, "state"), "be\0", 3, 0, 0);
    unsigned long bs = wait_backend_state(be, XenbusStateInitWait);
    printk("blkfront: vbd %u backend %s (d%u) state %u\n", devid, be, (unsigned long)backend_id, bs);

    /* talk_to_blkback: ring, grant, event channel, then Initialised */
    blkif_sring_t *sring = (blkif_sring_t *)ring_page;
    SHARED_RING_INIT(sring);
    FRONT_RING_INIT(&ring, sring, PAGE_SIZE);
    grant(RING_GREF, ring_page, 0);
    struct evtchn_alloc_unbound au = { .dom = DOMID_SELF, .remote_dom = backend_id };
    HYPERVISOR_event_channel_op(EVTCHNOP_alloc_unbound, &au);
    blk_port = au.port;
    char txs[16];
    for (;;) {
        xs_talk(XS_TRANSACTION_START, 0, "", 0, 0, txs, sizeof txs);
        uint32_t tx = parse_u(txs);
        char num[16];
        *fmt_u(num, RING_GREF, 10) = 0;
        xs_write(path2(p, fe, "ring-ref"), num, tx);
        *fmt_u(num, blk_port, 10) = 0;
        xs_write(path2(p, fe, "event-channel"), num, tx);
        xs_write(path2(p, fe, "protocol"), "x86_64-abi", tx);
        char r[16];
        if (xs_talk(XS_TRANSACTION_END, tx, "T", 0, 0, r, sizeof r) != XS_ERROR) break;
    }
    { char num[4] = { '0' + XenbusStateInitialised, 0 }; xs_write(path2(p, fe, "state"), num, 0); }
    bs = wait_backend_state(be, XenbusStateConnected);
    nr_sectors = xs_read_u(path2(p, be, "sectors"));
    unsigned long info = xs_read_u(path2(p, be, "info")), ssize = xs_read_u(path2(p, be, "sector-size")), flush = xs_read_u(path2(p, be, "feature-flush-cache"));
    { char num[4] = { '0' + XenbusStateConnected, 0 }; xs_write(path2(p, fe, "state"), num, 0); }
    printk("blkfront: connected ring-ref %u evtchn %u: sectors %u sector-size %u info %u flush %u (backend state %u)\n", (unsigned long)RING_GREF, (unsigned long)blk_port, nr_sectors, ssize, info, flush, bs);

    const char *mode = arg(cmdline, "mode");
    if (!strncmp(mode, "check", 5) || !strncmp(mode, "ro", 2)) {
        /* 16 sectors in one request: two whole pages */
        int16_t st = one(BLKIF_OP_READ, 0, 2, 0, 0, 7);
        unsigned long h = fnv(data[0], PAGE_SIZE, FNV0);
        h = fnv(data[1], PAGE_SIZE, h);
        printk("read sectors 0-15: status %d fnv %x first bytes %x %x %x %x\n", (long)st, h, (unsigned long)data[0][0], (unsigned long)data[0][1], (unsigned long)data[0][510], (unsigned long)data[0][511]);
        /* sector 3 alone, landing at sector 5 of the page (first_sect = last_sect = 5) */
        memset(data[2], 0xee, PAGE_SIZE);
        st = one(BLKIF_OP_READ, 3, 1, 2, 5, 5);
        printk("read sector 3 into page sector 5: status %d fnv %x untouched-before %x untouched-after %x\n", (long)st, fnv(data[2] + 5 * 512, 512, FNV0), (unsigned long)data[2][5 * 512 - 1], (unsigned long)data[2][6 * 512]);
        /* past the end */
        st = one(BLKIF_OP_READ, nr_sectors, 1, 0, 0, 0);
        printk("read past the end: status %d\n", (long)st);
        unsigned long ws = parse_u(arg(cmdline, "write"));
        char *q = (char *)data[3];
        memset(data[3], 0, PAGE_SIZE);
        q = fmt_s(q, "XenLab blkfront wrote sector "); q = fmt_u(q, ws, 10);
        for (unsigned i = 64; i < 512; i++) data[3][i] = (unsigned char)(i * 7 + ws);
        st = one(BLKIF_OP_WRITE, ws, 1, 3, 0, 0);
        int16_t fst = one(BLKIF_OP_FLUSH_DISKCACHE, 0, 0, 0, 0, 0);
        printk("write sector %u: status %d, flush: status %d\n", ws, (long)st, (long)fst);
        memset(data[4], 0, PAGE_SIZE);
        st = one(BLKIF_OP_READ, ws, 1, 4, 0, 0);
        unsigned same = 1;
        for (unsigned i = 0; i < 512; i++) if (data[4][i] != data[3][i]) same = 0;
        printk("read back sector %u: status %d %s\n", ws, (long)st, same ? "same" : "different");
        st = one(BLKIF_OP_WRITE_BARRIER, 0, 0, 0, 0, 0);
        printk("write barrier: status %d\n", (long)st);
        printk("grants busy at end of access: %u, notifies sent %u, responses %u\n", grant_busy_at_end, notifies, rsp_seen);
    } else if (!strncmp(mode, "bench", 5)) {
        bench(parse_u(arg(cmdline, "kib")), parse_u(arg(cmdline, "depth")));
        printk("bench: %u requests, %u sectors, sum %x, errors %u, notifies %u\n", bench_reqs, bench_next_sector, bench_sum, bench_errors, notifies);
    }

    if (!strncmp(arg(cmdline, "then"), "wait", 4)) {
        /* blkback_changed: on Closing, blkfront_closing → xenbus_frontend_closed → Closed */
        bs = wait_backend_state(be, XenbusStateClosing);
        { char num[4] = { '0' + XenbusStateClosing, 0 }; xs_write(path2(p, fe, "state"), num, 0); }
        { char num[4] = { '0' + XenbusStateClosed, 0 }; xs_write(path2(p, fe, "state"), num, 0); }
        unsigned long gone = xs_talk(XS_READ, 0, path2(p, fe, "state"), 0, 0, v, sizeof v) == XS_ERROR;
        printk("blkfront: backend state %u, closed; device node %s\n", bs, gone ? "removed" : v);
        for (;;) HYPERVISOR_sched_op(SCHEDOP_block, 0); /* stay up, disk-less, for the test to look */
    }
off:;
    struct sched_shutdown sd = { .reason = SHUTDOWN_poweroff };
    HYPERVISOR_sched_op(SCHEDOP_shutdown, &sd);
    for (;;) HYPERVISOR_sched_op(SCHEDOP_yield, 0);
}
