/**
 * Runs cells in-process through the same cell runner the kernel uses, collecting their outputs:
 * for tests that drive magics and TypeScript the way a notebook does, without a kernel process.
 */
import { createCellRunner } from "../../src/jupyter/cell-environment";
import { CellRunner } from "../../src/jupyter/cell-runner";
import { CellError, DisplayOptions, OutputSink } from "../../src/jupyter/outputs";
import { MimeBundle } from "../../src/render/mime";

export class CollectedOutputs implements OutputSink {
  results: MimeBundle[] = [];
  displays: { bundle: MimeBundle; id?: string }[] = [];
  updates: { id: string; bundle: MimeBundle }[] = [];
  streams = "";
  errors: CellError[] = [];
  stream(_name: string, text: string): void {
    this.streams += text;
  }
  display(bundle: MimeBundle, options: DisplayOptions = {}): void {
    this.displays.push({ bundle, id: options.id });
  }
  updateDisplay(id: string, bundle: MimeBundle): void {
    this.updates.push({ id, bundle });
  }
  clearOutput(): void {}
  result(_count: number, bundle: MimeBundle): void {
    this.results.push(bundle);
  }
  error(error: CellError): void {
    this.errors.push(error);
  }
  /** The cell's result as text ("" when it had none). */
  get text(): string {
    return this.results[0]?.["text/plain"] ?? "";
  }
}

export class Cells {
  readonly runner: CellRunner = createCellRunner();
  private count = 0;

  async run(code: string): Promise<CollectedOutputs> {
    const out = new CollectedOutputs();
    await this.runner.run(code, out, ++this.count);
    return out;
  }

  close(): void {
    this.runner.executor.close();
  }
}
