/**
 * `xenlab run`: executes a notebook in-process through the same cell runner the kernel uses and
 * writes nbformat 4 outputs (stream, display_data with display-id updates, execute_result, error).
 */
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { MimeBundle } from "../render/mime";
import { setCellSink } from "./cell-api";
import { createCellRunner } from "./cell-environment";
import { captureStdio } from "./stdio-capture";
import { CellError, DisplayOptions, OutputSink, StreamName } from "./outputs";

type NbOutput =
  | { output_type: "stream"; name: StreamName; text: string }
  | { output_type: "display_data"; data: MimeBundle; metadata: Record<string, unknown> }
  | { output_type: "execute_result"; execution_count: number; data: MimeBundle; metadata: Record<string, unknown> }
  | { output_type: "error"; ename: string; evalue: string; traceback: string[] };

interface NbCell {
  cell_type: "code" | "markdown" | "raw";
  source: string | string[];
  metadata: Record<string, unknown>;
  outputs?: NbOutput[];
  execution_count?: number | null;
  id?: string;
}

export interface Notebook {
  nbformat: number;
  nbformat_minor: number;
  metadata: Record<string, unknown>;
  cells: NbCell[];
}

export class NotebookFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NotebookFormatError";
  }
}

/** Collects one cell's outputs as nbformat does, applying display updates in place. */
class CellOutputs implements OutputSink {
  readonly outputs: NbOutput[] = [];
  private clearPending = false;

  constructor(
    /** display id → the outputs (in any cell) that show it. */
    private readonly displays: Map<string, { data: MimeBundle; metadata: Record<string, unknown> }[]>,
    private readonly echo: boolean,
  ) {}

  stream(name: StreamName, text: string): void {
    this.beforeOutput();
    if (this.echo) (name === "stdout" ? process.stdout : process.stderr).write(text);
    const last = this.outputs[this.outputs.length - 1];
    if (last?.output_type === "stream" && last.name === name) last.text += text;
    else this.outputs.push({ output_type: "stream", name, text });
  }

  display(bundle: MimeBundle, options: DisplayOptions = {}): void {
    this.beforeOutput();
    const out = { output_type: "display_data" as const, data: bundle, metadata: options.metadata ?? {} };
    this.outputs.push(out);
    if (options.id) this.displays.set(options.id, [...(this.displays.get(options.id) ?? []), out]);
  }

  updateDisplay(id: string, bundle: MimeBundle, metadata: Record<string, unknown> = {}): void {
    for (const out of this.displays.get(id) ?? []) {
      out.data = bundle;
      out.metadata = metadata;
    }
  }

  clearOutput(wait: boolean): void {
    if (wait) this.clearPending = true;
    else this.outputs.length = 0;
  }

  result(executionCount: number, bundle: MimeBundle): void {
    this.beforeOutput();
    this.outputs.push({ output_type: "execute_result", execution_count: executionCount, data: bundle, metadata: {} });
  }

  error(error: CellError): void {
    this.beforeOutput();
    if (this.echo) process.stderr.write(`${error.traceback.join("\n")}\n`);
    this.outputs.push({ output_type: "error", ...error });
  }

  private beforeOutput(): void {
    if (this.clearPending) {
      this.outputs.length = 0;
      this.clearPending = false;
    }
  }
}

export interface RunResult {
  notebook: Notebook;
  /** The first failing cell (index into cells), if any. */
  failedCell?: number;
  error?: CellError;
  cellsRun: number;
}

export function readNotebook(path: string): Notebook {
  let nb: unknown;
  try {
    nb = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new NotebookFormatError(`${path}: not a JSON notebook (${(err as Error).message})`);
  }
  const n = nb as Partial<Notebook>;
  if (n.nbformat !== 4 || !Array.isArray(n.cells)) throw new NotebookFormatError(`${path}: not an nbformat 4 notebook`);
  return n as Notebook;
}

/** Runs every code cell in order; stops at the first error unless `allowErrors`. */
export async function runNotebook(nb: Notebook, options: { allowErrors?: boolean; cwd?: string; echo?: boolean } = {}): Promise<RunResult> {
  captureStdio();
  // Like a Jupyter server, run the notebook from its own folder.
  const startDir = process.cwd();
  if (options.cwd) process.chdir(options.cwd);
  const runner = createCellRunner();
  const displays = new Map<string, { data: MimeBundle; metadata: Record<string, unknown> }[]>();
  let count = 0;
  let cellsRun = 0;
  let failedCell: number | undefined;
  let firstError: CellError | undefined;
  try {
    for (const [index, cell] of nb.cells.entries()) {
      if (cell.cell_type !== "code") continue;
      const source = Array.isArray(cell.source) ? cell.source.join("") : cell.source;
      const sink = new CellOutputs(displays, options.echo ?? false);
      const started = new Date().toISOString();
      const outcome = await runner.run(source, sink, ++count);
      cellsRun++;
      cell.outputs = sink.outputs;
      cell.execution_count = count;
      // nbclient's record_timing (its default): when the cell started and when its reply came, so
      // the slow cells of a notebook can be found the same way for either runner.
      cell.metadata.execution = { "iopub.execute_input": started, "shell.execute_reply": new Date().toISOString() };
      // nbclient's convention: a cell tagged raises-exception is meant to fail (a lesson showing an error).
      const expected = Array.isArray(cell.metadata.tags) && cell.metadata.tags.includes("raises-exception");
      if (outcome.status === "error" && !expected && failedCell === undefined) {
        failedCell = index;
        firstError = outcome.error;
        if (!options.allowErrors) break;
      }
    }
  } finally {
    setCellSink(undefined); // what is printed after the run is the caller's again
    runner.executor.close();
    process.chdir(startDir);
  }
  nb.metadata.kernelspec = { name: "xenlab", display_name: "XenLab (TypeScript)", language: "typescript" };
  nb.metadata.language_info = { name: "typescript", file_extension: ".ts", mimetype: "text/typescript" };
  return { notebook: nb, failedCell, error: firstError, cellsRun };
}

export function writeNotebook(path: string, nb: Notebook): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(nb, null, 1)}\n`);
}
