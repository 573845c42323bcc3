/**
 * A small XML reader for Virtual Server's .vmc files: elements, attributes, text, comments,
 * processing instructions, CDATA and the five predefined entities plus character references.
 * No DTDs, no namespaces (VS2005 writes none). Errors name the line and what was expected.
 */
export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
  line: number;
}

export class XmlError extends Error {
  constructor(readonly line: number, message: string) {
    super(`line ${line}: ${message}`);
    this.name = "XmlError";
  }
}

const ENTITIES: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };

function decodeEntities(s: string, line: number): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);?/g, (m, e: string) => {
    if (!m.endsWith(";")) throw new XmlError(line, `"&${e}" is not terminated by ";"`);
    if (e[0] === "#") {
      const cp = e[1] === "x" ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      if (!(cp > 0 && cp <= 0x10ffff)) throw new XmlError(line, `bad character reference ${m}`);
      return String.fromCodePoint(cp);
    }
    const v = ENTITIES[e];
    if (v === undefined) throw new XmlError(line, `unknown entity ${m}`);
    return v;
  });
}

export function parseXml(src: string): XmlElement {
  let i = 0;
  const lineAt = (k: number) => src.slice(0, k).split("\n").length;
  const skipMisc = () => {
    for (;;) {
      while (i < src.length && /\s/.test(src[i]!)) i++;
      if (src.startsWith("<?", i)) { const e = src.indexOf("?>", i); if (e < 0) throw new XmlError(lineAt(i), "unterminated <?"); i = e + 2; }
      else if (src.startsWith("<!--", i)) { const e = src.indexOf("-->", i); if (e < 0) throw new XmlError(lineAt(i), "unterminated comment"); i = e + 3; }
      else if (src.startsWith("<!DOCTYPE", i)) throw new XmlError(lineAt(i), "DOCTYPE is not supported in a .vmc");
      else return;
    }
  };
  const name = () => {
    const m = /^[A-Za-z_:][A-Za-z0-9_.:-]*/.exec(src.slice(i, i + 256));
    if (!m) throw new XmlError(lineAt(i), `expected a name, found ${JSON.stringify(src.slice(i, i + 10))}`);
    i += m[0].length;
    return m[0];
  };
  const element = (): XmlElement => {
    const line = lineAt(i);
    if (src[i] !== "<") throw new XmlError(line, `expected "<", found ${JSON.stringify(src.slice(i, i + 10))}`);
    i++;
    const el: XmlElement = { name: name(), attrs: {}, children: [], text: "", line };
    for (;;) {
      while (/\s/.test(src[i] ?? "")) i++;
      if (src.startsWith("/>", i)) { i += 2; return el; }
      if (src[i] === ">") { i++; break; }
      if (i >= src.length) throw new XmlError(lineAt(i), `<${el.name}> is not closed`);
      const an = name();
      while (/\s/.test(src[i] ?? "")) i++;
      if (src[i] !== "=") throw new XmlError(lineAt(i), `attribute ${an} of <${el.name}> has no value`);
      i++;
      while (/\s/.test(src[i] ?? "")) i++;
      const q = src[i];
      if (q !== '"' && q !== "'") throw new XmlError(lineAt(i), `attribute ${an} of <${el.name}> is not quoted`);
      const e = src.indexOf(q, i + 1);
      if (e < 0) throw new XmlError(lineAt(i), `attribute ${an} of <${el.name}> is not terminated`);
      el.attrs[an] = decodeEntities(src.slice(i + 1, e), lineAt(i));
      i = e + 1;
    }
    for (;;) {
      if (i >= src.length) throw new XmlError(lineAt(i), `<${el.name}> (line ${line}) has no end tag`);
      if (src.startsWith("</", i)) {
        i += 2;
        const n = name();
        if (n !== el.name) throw new XmlError(lineAt(i), `</${n}> closes <${el.name}> (line ${line})`);
        while (/\s/.test(src[i] ?? "")) i++;
        if (src[i] !== ">") throw new XmlError(lineAt(i), `</${n} is not closed`);
        i++;
        return el;
      }
      if (src.startsWith("<!--", i)) { const e = src.indexOf("-->", i); if (e < 0) throw new XmlError(lineAt(i), "unterminated comment"); i = e + 3; continue; }
      if (src.startsWith("<![CDATA[", i)) { const e = src.indexOf("]]>", i); if (e < 0) throw new XmlError(lineAt(i), "unterminated CDATA"); el.text += src.slice(i + 9, e); i = e + 3; continue; }
      if (src[i] === "<") { el.children.push(element()); continue; }
      const e = src.indexOf("<", i);
      const end = e < 0 ? src.length : e;
      el.text += decodeEntities(src.slice(i, end), lineAt(i));
      i = end;
    }
  };
  skipMisc();
  const root = element();
  skipMisc();
  if (i < src.length) throw new XmlError(lineAt(i), "content after the root element");
  return root;
}

/** Children named `name` (with an `id` attribute when given). */
export function kids(el: XmlElement | undefined, name: string): XmlElement[] {
  return el ? el.children.filter((c) => c.name === name) : [];
}
export function kid(el: XmlElement | undefined, ...path: string[]): XmlElement | undefined {
  let cur = el;
  for (const p of path) cur = kids(cur, p)[0];
  return cur;
}
