/**
 * A page-table walk as data: the entries read at each level for one virtual address, the
 * guest-physical result and, through the P2M, the machine frame (Vcpu.pageWalk fills it). Its
 * picture is src/render/pagewalk's, found through the MIME registry.
 */
import { display, type MimeBundle } from "../mime";

export interface WalkLevel {
  level: number; // 4 = PML4 ... 1 = PT
  tableGpa: number;
  index: number;
  entry: bigint;
  flags: string[];
  leaf: boolean;
}

export interface WalkResult {
  va: bigint;
  /** The paging mode the walk followed (SDM Vol. 3A Table 4-1); absent in results made before it was recorded. */
  paging?: "off" | "32-bit" | "PAE" | "4-level";
  levels: WalkLevel[];
  gpa?: number;
  mfn?: number;
  fault?: string;
}

/** One finished walk; shows itself as the levels table and SVG. */
export class PageWalk implements WalkResult {
  readonly va: bigint;
  readonly paging?: WalkResult["paging"];
  readonly levels: WalkLevel[];
  readonly gpa?: number;
  readonly mfn?: number;
  readonly fault?: string;

  constructor(w: WalkResult) {
    this.va = w.va;
    this.paging = w.paging;
    this.levels = w.levels;
    this.gpa = w.gpa;
    this.mfn = w.mfn;
    this.fault = w.fault;
  }

  toMimeBundle(): MimeBundle {
    return display(this);
  }
}
