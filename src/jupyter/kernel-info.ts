/** kernel_info_reply content (messaging spec "Kernel info"). */
import { PACKAGE_VERSION } from "../package-root";
import { JsonObject, PROTOCOL_VERSION } from "./messages";

export const KERNEL_VERSION = PACKAGE_VERSION;

export function kernelInfoContent(): JsonObject {
  return {
    status: "ok",
    protocol_version: PROTOCOL_VERSION,
    implementation: "xenlab",
    implementation_version: KERNEL_VERSION,
    language_info: {
      name: "typescript",
      version: typescriptVersion(),
      mimetype: "text/typescript",
      file_extension: ".ts",
      pygments_lexer: "typescript",
      codemirror_mode: { name: "javascript", typescript: true },
      nbconvert_exporter: "script",
    },
    banner:
      `XenLab ${KERNEL_VERSION}: an emulated Xen / Hyper-V host, cell by cell (Node ${process.versions.node}).\n` +
      "TypeScript cells with the host in scope; %lsmagic lists the magics, %name? explains one.",
    help_links: [
      { text: "Xen public headers", url: "https://xenbits.xen.org/docs/unstable/hypercall/" },
      { text: "Hyper-V TLFS", url: "https://learn.microsoft.com/virtualization/hyper-v-on-windows/tlfs/tlfs" },
      { text: "Jupyter messaging", url: "https://jupyter-client.readthedocs.io/en/latest/messaging.html" },
    ],
    supported_features: [],
  };
}

function typescriptVersion(): string {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require("typescript/package.json") as { version: string }).version;
  } catch {
    return "unknown";
  }
}
