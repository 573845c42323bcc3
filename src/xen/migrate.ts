/**
 * Live migration between two Xen hosts of this process, pre-copy as libxc's xc_sr_save.c
 * send_domain_memory_live does: log-dirty mode on the source (log-dirty.ts), a first round
 * sending every page, then rounds sending the pages dirtied while the previous round was being
 * sent, until libxl's simple_precopy_policy (libxl_dom_save.c / xc_sr_save.c) says stop: fewer
 * than SPP_TARGET_DIRTY_COUNT pages dirty, or SPP_MAX_ITERATIONS rounds. Then the domain is
 * paused and the last dirty pages go with the vCPU and device state (the xl save image,
 * save-restore.ts); the domain is restored on the target and the source's copy destroyed.
 *
 * The guest runs while a round is "on the wire" for the time the pages take at `bandwidthBps`
 * (virtual time), so what it dirties depends on how fast it writes against the link.
 */
import { FrameUse, PAGE_SIZE } from "../machine";
import type { Gfn } from "../machine";
import { display, MimeBundle } from "../mime";
import type { Domain } from "./domain";
import { XenError } from "./errors";
import type { XenHost } from "./host";
import { LogDirty } from "./log-dirty";
import { restoreDomain, saveDomain } from "./save-restore";

/** libxl's simple_precopy_policy: SPP_TARGET_DIRTY_COUNT and SPP_MAX_ITERATIONS. */
export const SPP_TARGET_DIRTY_COUNT = 50, SPP_MAX_ITERATIONS = 5;

/** One pre-copy round (the last one, `final`, is the stop-and-copy with the domain paused). */
export interface MigrationRound {
  round: number;
  /** Pages sent in this round. */
  pagesSent: number;
  /** Pages the guest dirtied while they were sent (what the next round sends). */
  pagesDirtied: number;
  /** Virtual time the round took on the link, ns. */
  durationNs: number;
  /** Host wall time spent in the round (copying and running the guest), ms. */
  wallMs: number;
  final: boolean;
}

export interface MigrateOptions {
  /** Link bandwidth in bits per second (default 1 Gbit/s). */
  bandwidthBps?: number;
  maxIterations?: number;
  targetDirtyCount?: number;
}

export class Migration {
  constructor(
    readonly name: string, readonly from: string, readonly to: string, readonly rounds: readonly MigrationRound[],
    /** The domain running on the target. */
    readonly domain: Domain,
    /**
     * Pages that changed after being sent without a logged guest write: written by Xen or a
     * backend (vcpu_info, runstate area, rings, grant copies) or by the page walker's A/D bits.
     * They are sent from the paused domain's memory, so the copy is whole.
     */
    readonly unloggedPages: number,
  ) {}
  /** Total pages sent over every round. */
  get pagesSent(): number { return this.rounds.reduce((n, r) => n + r.pagesSent, 0); }
  toMimeBundle(): MimeBundle { return display(this); }
}

function copyOf(host: XenHost, d: Domain, g: Gfn): Uint8Array | undefined {
  const e = host.machine.p2m(d.domid).lookup(g);
  return e ? new Uint8Array(host.machine.memory.view(e.mfn).buffer.slice(0)) : undefined;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

export function migrateDomain(src: XenHost, d: Domain, dst: XenHost, opts: MigrateOptions = {}): Migration {
  if (src === dst) throw new XenError("EINVAL", `cannot migrate ${d.name} to its own host ${src.hostname}`);
  if (d.domid === 0) throw new XenError("EINVAL", "cannot migrate Domain-0");
  if (d.isShutdown) throw new XenError("EINVAL", `${d.name} is shut down`);
  if (d.logDirty) throw new XenError("EBUSY", `${d.name} is already being migrated`);
  for (const o of dst.domains.values()) if (o.name === d.name) throw new XenError("EEXIST", `domain ${d.name} already exists on ${dst.hostname}`);
  const bps = opts.bandwidthBps ?? 1e9;
  const maxIter = opts.maxIterations ?? SPP_MAX_ITERATIONS, target = opts.targetDirtyCount ?? SPP_TARGET_DIRTY_COUNT;
  const wireNs = (pages: number) => Math.ceil((pages * PAGE_SIZE * 8 * 1e9) / bps);
  const sent = new Map<Gfn, Uint8Array>();
  const rounds: MigrationRound[] = [];
  const log = new LogDirty(src.machine, d.domid);
  d.logDirty = log;
  let image: Uint8Array;
  let unlogged = 0;
  const unloggedGfns: Gfn[] = [];
  try {
    // Round 0: every RAM page the domain has written (never-touched pages read as zero on both
    // sides). shared_info and grant frames are Xen's pages: they go with the state at the end,
    // as the stream's SHARED_INFO record and the grant table are not pages of the guest.
    let toSend: Gfn[] = src.machine.p2m(d.domid).entries().filter((e) => {
      const info = src.machine.memory.info(e.mfn);
      return info.owner === d.domid && info.use === FrameUse.Ram && src.machine.memory.isTouched(e.mfn);
    }).map((e) => e.gfn);
    for (let round = 0; ; round++) {
      const t0 = performance.now();
      for (const g of toSend) { const c = copyOf(src, d, g); if (c) sent.set(g, c); }
      const ns = wireNs(toSend.length);
      // The guest keeps running while the round is on the wire.
      if (!d.paused) src.run({ ns, until: () => d.isShutdown });
      if (d.isShutdown) throw new XenError("EINVAL", `${d.name} shut down during migration (${d.shutdownReason})`);
      const dirty = log.clean();
      rounds.push({ round, pagesSent: toSend.length, pagesDirtied: dirty.size, durationNs: ns, wallMs: performance.now() - t0, final: false });
      toSend = [...dirty];
      if (dirty.size < target || round + 1 >= maxIter) break;
    }
    // Stop and copy: pause, send the last dirty pages and the state.
    const t0 = performance.now();
    src.pause(d);
    const last = new Set<Gfn>([...toSend, ...log.clean()]);
    image = saveDomain(src, d, (g) => {
      const k = g as Gfn;
      if (last.has(k)) return undefined;
      const had = sent.get(k);
      if (!had) return undefined;
      const now = copyOf(src, d, k);
      if (now && !sameBytes(had, now)) { unlogged++; unloggedGfns.push(k); return now; }
      return had;
    });
    rounds.push({ round: rounds.length, pagesSent: last.size, pagesDirtied: 0, durationNs: wireNs(last.size), wallMs: performance.now() - t0, final: true });
  } catch (e) {
    log.disable();
    d.logDirty = undefined;
    if (d.paused && src.domains.has(d.domid)) src.unpause(d);
    throw e;
  }
  log.disable();
  d.logDirty = undefined;
  const moved = restoreDomain(dst, image);
  src.destroyDomain(d);
  if (unlogged) src.log(`migration of ${d.name}: ${unlogged} page(s) changed without a logged write: gfn ${unloggedGfns.slice(0, 8).map((g) => `0x${g.toString(16)}`).join(" ")}`);
  return new Migration(d.name, src.hostname, dst.hostname, rounds, moved, unlogged);
}
