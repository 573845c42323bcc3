/** The connection file a Jupyter client hands the kernel (jupyter_client connect.py). */
import { readFileSync } from "node:fs";

export interface ConnectionInfo {
  transport: "tcp" | "ipc";
  ip: string;
  key: string;
  signature_scheme: string;
  shell_port: number;
  iopub_port: number;
  stdin_port: number;
  control_port: number;
  hb_port: number;
  kernel_name?: string;
}

export type SocketName = "shell" | "iopub" | "stdin" | "control" | "hb";

export function readConnectionFile(path: string): ConnectionInfo {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new Error(`cannot read connection file ${path}: ${(err as Error).message}`);
  }
  return parseConnectionInfo(raw, path);
}

export function parseConnectionInfo(raw: unknown, where = "connection info"): ConnectionInfo {
  if (typeof raw !== "object" || raw === null) throw new Error(`${where}: not a JSON object`);
  const o = raw as Record<string, unknown>;
  const transport = o.transport ?? "tcp";
  if (transport !== "tcp" && transport !== "ipc") {
    throw new Error(`${where}: transport must be "tcp" or "ipc", not ${JSON.stringify(transport)}`);
  }
  const str = (k: string, dflt?: string): string => {
    const v = o[k] ?? dflt;
    if (typeof v !== "string") throw new Error(`${where}: ${k} must be a string`);
    return v;
  };
  const port = (k: string): number => {
    const v = o[k];
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 65535) {
      throw new Error(`${where}: ${k} must be a port number`);
    }
    return v;
  };
  return {
    transport,
    ip: str("ip", "127.0.0.1"),
    key: str("key", ""),
    signature_scheme: str("signature_scheme", "hmac-sha256"),
    shell_port: port("shell_port"),
    iopub_port: port("iopub_port"),
    stdin_port: port("stdin_port"),
    control_port: port("control_port"),
    hb_port: port("hb_port"),
    kernel_name: typeof o.kernel_name === "string" ? o.kernel_name : undefined,
  };
}

/** `tcp://ip:port`, or for ipc `ipc://ip-port` as jupyter_client builds it. */
export function endpoint(info: ConnectionInfo, socket: SocketName): string {
  const port = info[`${socket}_port` as const];
  return info.transport === "tcp" ? `tcp://${info.ip}:${port}` : `ipc://${info.ip}-${port}`;
}
