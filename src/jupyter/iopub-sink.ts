/** An OutputSink that publishes a request's outputs on IOPub (stream, display, result, error). */
import { MimeBundle } from "../render/mime";
import { CellError, DisplayOptions, OutputSink, StreamName } from "./outputs";
import { JsonObject } from "./messages";

export type Publish = (msgType: string, content: JsonObject) => void;

export class IopubSink implements OutputSink {
  readonly pages: MimeBundle[] = [];
  readonly nextInputs: { text: string; replace: boolean }[] = [];

  constructor(private readonly publish: Publish) {}

  stream(name: StreamName, text: string): void {
    if (text) this.publish("stream", { name, text });
  }

  display(bundle: MimeBundle, options: DisplayOptions = {}): void {
    this.publish("display_data", {
      data: bundle as JsonObject,
      metadata: (options.metadata ?? {}) as JsonObject,
      transient: options.id ? { display_id: options.id } : {},
    });
  }

  updateDisplay(id: string, bundle: MimeBundle, metadata: Record<string, unknown> = {}): void {
    this.publish("update_display_data", { data: bundle as JsonObject, metadata: metadata as JsonObject, transient: { display_id: id } });
  }

  clearOutput(wait: boolean): void {
    this.publish("clear_output", { wait });
  }

  result(executionCount: number, bundle: MimeBundle): void {
    this.publish("execute_result", { execution_count: executionCount, data: bundle as JsonObject, metadata: {} });
  }

  error(error: CellError): void {
    this.publish("error", { ...error });
  }

  page(bundle: MimeBundle): void {
    this.pages.push(bundle);
  }

  nextInput(text: string, replace: boolean): void {
    this.nextInputs.push({ text, replace });
  }
}

/** For silent executes: nothing is published. */
export class NullSink implements OutputSink {
  stream(): void {}
  display(): void {}
  updateDisplay(): void {}
  clearOutput(): void {}
  result(): void {}
  error(): void {}
}
