/*
 * A child-partition test guest written against the TLFS and Linux's VMBus/storvsc layouts:
 * discovers Hyper-V by CPUID, sets the guest OS id and the hypercall page, enables the SynIC,
 * negotiates VMBus, opens the first storage offer over a GPADL'd ring pair and reads sectors
 * with SCSI READ(10). Output goes to port 0xE9; results also stay in memory (`result_*`).
 */
typedef unsigned char u8; typedef unsigned short u16; typedef unsigned int u32; typedef unsigned long long u64;

#define HV_X64_MSR_GUEST_OS_ID 0x40000000
#define HV_X64_MSR_HYPERCALL 0x40000001
#define HV_X64_MSR_VP_INDEX 0x40000002
#define HV_X64_MSR_TIME_REF_COUNT 0x40000020
#define HV_X64_MSR_SCONTROL 0x40000080
#define HV_X64_MSR_SIEFP 0x40000082
#define HV_X64_MSR_SIMP 0x40000083
#define HV_X64_MSR_EOM 0x40000084
#define HV_X64_MSR_SINT0 0x40000090
#define HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST 0x0003
#define HVCALL_NOTIFY_LONG_SPIN_WAIT 0x0008
#define HVCALL_GET_PARTITION_ID 0x0046
#define HVCALL_CREATE_PARTITION 0x0040
#define HVCALL_POST_MESSAGE 0x005c
#define HVCALL_SIGNAL_EVENT 0x005d
#define HV_HYPERCALL_FAST_BIT (1ULL << 16)
#define HV_HYPERCALL_REP_COMP_OFFSET 32
#define VMBUS_MESSAGE_SINT 2

struct hv_message_header { u32 message_type; u8 payload_size; u8 message_flags; u16 reserved; u64 sender; } __attribute__((packed));
struct hv_message { struct hv_message_header header; u64 payload[30]; } __attribute__((packed));
struct hv_input_post_message { u32 connectionid; u32 reserved; u32 message_type; u32 payload_size; u64 payload[30]; } __attribute__((packed));

/* include/linux/hyperv.h */
struct vmbus_channel_message_header { u32 msgtype; u32 padding; } __attribute__((packed));
struct vmbus_channel_initiate_contact { struct vmbus_channel_message_header header; u32 vmbus_version_requested; u32 target_vcpu; u64 interrupt_page; u64 monitor_page1; u64 monitor_page2; } __attribute__((packed));
struct vmbus_channel_version_response { struct vmbus_channel_message_header header; u8 version_supported; u8 connection_state; u16 padding; u32 msg_conn_id; } __attribute__((packed));
typedef struct { u8 b[16]; } guid_t;
struct vmbus_channel_offer { guid_t if_type; guid_t if_instance; u64 reserved1; u64 reserved2; u16 chn_flags; u16 mmio_megabytes; u8 user_def[120]; u16 sub_channel_index; u16 reserved3; } __attribute__((packed));
struct vmbus_channel_offer_channel { struct vmbus_channel_message_header header; struct vmbus_channel_offer offer; u32 child_relid; u8 monitorid; u8 flags; u16 reserved; u32 connection_id; } __attribute__((packed));
struct gpa_range { u32 byte_count; u32 byte_offset; u64 pfn_array[]; };
struct vmbus_channel_gpadl_header { struct vmbus_channel_message_header header; u32 child_relid; u32 gpadl; u16 range_buflen; u16 rangecount; struct gpa_range range[]; } __attribute__((packed));
struct vmbus_channel_gpadl_created { struct vmbus_channel_message_header header; u32 child_relid; u32 gpadl; u32 creation_status; } __attribute__((packed));
struct vmbus_channel_open_channel { struct vmbus_channel_message_header header; u32 child_relid; u32 openid; u32 ringbuffer_gpadlhandle; u32 target_vp; u32 downstream_ringbuffer_pageoffset; u8 userdata[120]; } __attribute__((packed));
struct vmbus_channel_open_result { struct vmbus_channel_message_header header; u32 child_relid; u32 openid; u32 status; } __attribute__((packed));
struct hv_ring_buffer { u32 write_index; u32 read_index; u32 interrupt_mask; u32 pending_send_sz; u32 reserved1[12]; u32 feature_bits; u8 reserved2[4028]; u8 buffer[]; } __attribute__((packed));
struct vmpacket_descriptor { u16 type; u16 offset8; u16 len8; u16 flags; u64 trans_id; } __attribute__((packed));
/* drivers/scsi/storvsc_drv.c (pre-Win8 sizes) */
struct vmscsi_request { u16 length; u8 srb_status; u8 scsi_status; u8 port_number; u8 path_id; u8 target_id; u8 lun; u8 cdb_length; u8 sense_info_length; u8 data_in; u8 reserved; u32 data_transfer_length; u8 cdb_or_sense[20]; } __attribute__((packed));
struct vstor_packet { u32 operation; u32 flags; u32 status; struct vmscsi_request vm_srb; } __attribute__((packed));
struct gpa_direct_req { struct vmpacket_descriptor d; u32 reserved; u32 range_cnt; u32 len; u32 offset; u64 pfn; struct vstor_packet vp; } __attribute__((packed));

_Static_assert(sizeof(struct vmbus_channel_offer) == 176, "offer");
_Static_assert(sizeof(struct vmbus_channel_offer_channel) == 196, "offer_channel");
_Static_assert(sizeof(struct hv_ring_buffer) == 4096, "ring header");
_Static_assert(sizeof(struct vstor_packet) == 48, "vstor_packet");

static u8 hypercall_page[4096] __attribute__((aligned(4096)));
static struct hv_message simp[16] __attribute__((aligned(4096)));
static u8 siefp[4096] __attribute__((aligned(4096)));
static struct hv_input_post_message post_in __attribute__((aligned(4096)));
static u64 hc_out[512] __attribute__((aligned(4096)));
static u64 flush_in[512] __attribute__((aligned(4096)));
/* 2 rings of 1 header page + 2 data pages each: outbound (send) first, then inbound. */
static u8 rings[6][4096] __attribute__((aligned(4096)));
u8 result_sectors[4096] __attribute__((aligned(4096)));
u8 write_sector[512] __attribute__((aligned(512)));
u32 result_capacity[2];
u64 result_status[8];

static inline void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" :: "a"(v), "Nd"(port)); }
static void puts_(const char *s) { while (*s) outb(0xe9, (u8)*s++); }
static void puthex(u64 v, int digits) { for (int i = digits - 1; i >= 0; i--) outb(0xe9, "0123456789abcdef"[(v >> (i * 4)) & 15]); }
static inline void cpuid(u32 leaf, u32 *a, u32 *b, u32 *c, u32 *d) { __asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(0)); }
static inline void wrmsr(u32 msr, u64 v) { __asm__ volatile("wrmsr" :: "c"(msr), "a"((u32)v), "d"((u32)(v >> 32))); }
static inline u64 rdmsr(u32 msr) { u32 lo, hi; __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr)); return ((u64)hi << 32) | lo; }
static void *memset_(void *p, int c, u64 n) { u8 *q = p; while (n--) *q++ = (u8)c; return p; }
static void memcpy_(void *d, const void *s, u64 n) { u8 *a = d; const u8 *b = s; while (n--) *a++ = *b++; }

static u64 hypercall(u64 control, u64 in, u64 out) {
  u64 status;
  register u64 r8 __asm__("r8") = out;
  __asm__ volatile("call *%[pg]" : "=a"(status), "+c"(control), "+d"(in), "+r"(r8) : [pg] "r"(hypercall_page) : "cc", "memory", "r9", "r10", "r11");
  return status;
}

static u64 post(const void *msg, u32 size) {
  post_in.connectionid = 1; post_in.reserved = 0; post_in.message_type = 1; post_in.payload_size = size;
  memcpy_(post_in.payload, msg, size);
  return hypercall(HVCALL_POST_MESSAGE, (u64)&post_in, 0);
}

/* Waits for the next message in SINT2's slot of type `want`, copies it out, frees the slot, EOM. */
static int recv(u32 want, void *out, u32 size) {
  volatile struct hv_message *m = &simp[VMBUS_MESSAGE_SINT];
  for (long spins = 0; spins < 1000000; spins++) {
    if (m->header.message_type == 0) { __asm__ volatile("pause"); continue; }
    u32 t = (u32)m->payload[0];
    memcpy_(out, (const void *)m->payload, size);
    u8 pending = m->header.message_flags & 1;
    m->header.message_type = 0;
    __asm__ volatile("mfence" ::: "memory");
    if (pending) wrmsr(HV_X64_MSR_EOM, 0);
    if (t == want) return 0;
  }
  return -1;
}

void main(void) {
  u32 a, b, c, d;
  char vendor[13];
  cpuid(0x40000000, &a, &b, &c, &d);
  memcpy_(vendor, &b, 4); memcpy_(vendor + 4, &c, 4); memcpy_(vendor + 8, &d, 4); vendor[12] = 0;
  puts_("vendor "); puts_(vendor); puts_(" max "); puthex(a, 8);
  cpuid(0x40000001, &a, &b, &c, &d);
  puts_(" interface "); puthex(a, 8);
  cpuid(0x40000003, &a, &b, &c, &d);
  puts_(" privileges "); puthex(((u64)b << 32) | a, 12); puts_("\n");
  /* Open-source guest OS id: bit 63, OS type Linux (1) in 62:56, version. */
  /* Linux's hv_generate_guest_id (asm-generic/mshyperv.h): HV_LINUX_VENDOR_ID << 48 | version << 16;
     SLES 10's kernel is 2.6.16 (KERNEL_VERSION(2, 6, 16)). */
  wrmsr(HV_X64_MSR_GUEST_OS_ID, (0x8100ULL << 48) | (((2ULL << 16) | (6 << 8) | 16) << 16));
  wrmsr(HV_X64_MSR_HYPERCALL, (u64)hypercall_page | 1);
  u64 st = hypercall(HVCALL_GET_PARTITION_ID, 0, (u64)hc_out);
  puts_("partition id "); puthex(hc_out[0], 4); puts_(" status "); puthex(st & 0xffff, 4); puts_(" vp "); puthex(rdmsr(HV_X64_MSR_VP_INDEX), 2); puts_("\n");
  result_status[0] = hypercall(HVCALL_CREATE_PARTITION, (u64)hc_out, (u64)hc_out) & 0xffff; /* a child may not: ACCESS_DENIED */
  result_status[1] = hypercall(HVCALL_NOTIFY_LONG_SPIN_WAIT | HV_HYPERCALL_FAST_BIT, 100, 0);
  /* A rep call of 40 GVAs: the hypervisor continues it transparently; RAX says 40 reps done. */
  memset_(flush_in, 0, 4096);
  flush_in[1] = 1; /* HV_FLUSH_ALL_PROCESSORS */
  for (int i = 0; i < 40; i++) flush_in[3 + i] = 0x200000ULL + i * 4096ULL;
  result_status[2] = hypercall(HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST | (40ULL << HV_HYPERCALL_REP_COMP_OFFSET), (u64)flush_in, 0);
  puts_("create-partition "); puthex(result_status[0], 4); puts_(" flush-list "); puthex(result_status[2], 16); puts_("\n");

  /* SynIC: message and event pages, SINT2 unmasked at vector 0x50 (we poll with interrupts off). */
  wrmsr(HV_X64_MSR_SIMP, (u64)simp | 1);
  wrmsr(HV_X64_MSR_SIEFP, (u64)siefp | 1);
  wrmsr(HV_X64_MSR_SINT0 + VMBUS_MESSAGE_SINT, 0x50);
  wrmsr(HV_X64_MSR_SCONTROL, 1);

  struct vmbus_channel_initiate_contact ic; memset_(&ic, 0, sizeof ic);
  ic.header.msgtype = 14; ic.vmbus_version_requested = 13; /* VERSION_WS2008 */
  result_status[3] = post(&ic, sizeof ic);
  struct vmbus_channel_version_response vr;
  if (recv(15, &vr, sizeof vr) || !vr.version_supported) { puts_("vmbus: no version\n"); goto out; }
  puts_("vmbus 0.13 ok\n");
  struct vmbus_channel_message_header rq = { 3, 0 };
  post(&rq, sizeof rq);
  struct vmbus_channel_offer_channel offer;
  if (recv(1, &offer, sizeof offer)) { puts_("no offer\n"); goto out; }
  puts_("offer relid "); puthex(offer.child_relid, 2); puts_(" conn "); puthex(offer.connection_id, 4); puts_(" type ");
  puthex(*(u32 *)offer.offer.if_type.b, 8); puts_("\n");
  struct vmbus_channel_message_header tmp;
  recv(4, &tmp, sizeof tmp);

  /* GPADL over the 6 ring pages. */
  struct { struct vmbus_channel_gpadl_header h; u32 byte_count; u32 byte_offset; u64 pfn[6]; } __attribute__((packed)) gh;
  memset_(&gh, 0, sizeof gh);
  gh.h.header.msgtype = 8; gh.h.child_relid = offer.child_relid; gh.h.gpadl = 0xe1e10; gh.h.rangecount = 1;
  gh.h.range_buflen = 8 + 6 * 8; gh.byte_count = 6 * 4096; gh.byte_offset = 0;
  for (int i = 0; i < 6; i++) gh.pfn[i] = (u64)rings[i] >> 12;
  post(&gh, sizeof gh);
  struct vmbus_channel_gpadl_created gc;
  if (recv(10, &gc, sizeof gc) || gc.creation_status) { puts_("gpadl failed\n"); goto out; }
  struct vmbus_channel_open_channel oc; memset_(&oc, 0, sizeof oc);
  oc.header.msgtype = 5; oc.child_relid = offer.child_relid; oc.openid = offer.child_relid; oc.ringbuffer_gpadlhandle = 0xe1e10; oc.downstream_ringbuffer_pageoffset = 3;
  post(&oc, sizeof oc);
  struct vmbus_channel_open_result orr;
  if (recv(6, &orr, sizeof orr) || orr.status) { puts_("open failed\n"); goto out; }
  puts_("channel open\n");

  volatile struct hv_ring_buffer *outr = (void *)rings[0], *inr = (void *)rings[3];
  const u32 dsize = 2 * 4096;
  /* Requests: READ CAPACITY(10), READ(10) of 8 sectors at LBA 5, WRITE(10) of 1 sector at LBA 100. */
  for (int i = 0; i < 512; i++) write_sector[i] = (u8)("Longhorn wrote this sector. "[i % 28]);
  for (int req = 0; req < 3; req++) {
    struct gpa_direct_req r; memset_(&r, 0, sizeof r);
    r.d.type = 9; r.d.offset8 = (sizeof r - sizeof r.vp) / 8; r.d.len8 = sizeof r / 8; r.d.flags = 1; r.d.trans_id = 0x100 + req;
    r.range_cnt = 1;
    r.vp.operation = 3; r.vp.vm_srb.length = sizeof(struct vmscsi_request); r.vp.vm_srb.cdb_length = 10; r.vp.vm_srb.data_in = 1;
    u8 *cdb = r.vp.vm_srb.cdb_or_sense;
    if (req == 0) { cdb[0] = 0x25; r.len = 8; r.offset = (u64)result_capacity & 0xfff; r.pfn = (u64)result_capacity >> 12; }
    else if (req == 1) { cdb[0] = 0x28; cdb[5] = 5; cdb[8] = 8; r.len = 4096; r.offset = 0; r.pfn = (u64)result_sectors >> 12; }
    else { cdb[0] = 0x2a; cdb[5] = 100; cdb[8] = 1; r.len = 512; r.offset = (u64)write_sector & 0xfff; r.pfn = (u64)write_sector >> 12; r.vp.vm_srb.data_in = 0; }
    r.vp.vm_srb.data_transfer_length = r.len;
    u32 w = outr->write_index;
    u8 *pk = (u8 *)&r;
    for (u32 i = 0; i < sizeof r; i++) outr->buffer[(w + i) % dsize] = pk[i];
    u64 trailer = (u64)w << 32;
    for (u32 i = 0; i < 8; i++) outr->buffer[(w + sizeof r + i) % dsize] = ((u8 *)&trailer)[i];
    __asm__ volatile("mfence" ::: "memory");
    outr->write_index = (w + sizeof r + 8) % dsize;
    result_status[5 + req] = hypercall(HVCALL_SIGNAL_EVENT | HV_HYPERCALL_FAST_BIT, offer.connection_id, 0);
    while (inr->read_index == inr->write_index) __asm__ volatile("pause");
    struct vmpacket_descriptor cd; u32 rd = inr->read_index;
    for (u32 i = 0; i < sizeof cd; i++) ((u8 *)&cd)[i] = inr->buffer[(rd + i) % dsize];
    struct vstor_packet cv;
    for (u32 i = 0; i < sizeof cv; i++) ((u8 *)&cv)[i] = inr->buffer[(rd + cd.offset8 * 8 + i) % dsize];
    inr->read_index = (rd + cd.len8 * 8 + 8) % dsize;
    /* the event flag for our relid was set in SINT2's flags: clear it */
    __atomic_and_fetch(&siefp[VMBUS_MESSAGE_SINT * 256 + offer.child_relid / 8], (u8)~(1 << (offer.child_relid % 8)), __ATOMIC_SEQ_CST);
    puts_("completion "); puthex(cd.trans_id, 4); puts_(" type "); puthex(cd.type, 2); puts_(" srb "); puthex(cv.vm_srb.srb_status, 2); puts_(" len "); puthex(cv.vm_srb.data_transfer_length, 4); puts_("\n");
  }
  u32 last = __builtin_bswap32(result_capacity[0]), bs = __builtin_bswap32(result_capacity[1]);
  puts_("capacity "); puthex(last + 1ULL, 8); puts_(" x "); puthex(bs, 4); puts_("\nsector 5: ");
  for (int i = 0; i < 16; i++) puthex(result_sectors[i], 2);
  puts_("\nref time "); puthex(rdmsr(HV_X64_MSR_TIME_REF_COUNT), 8); puts_("\n");
out:
  puts_("done\n");
}

__attribute__((section(".text.entry"), noreturn)) void _start(void) {
  __asm__ volatile("cli");
  main();
  for (;;) __asm__ volatile("cli; hlt");
}
