/**
 * XML for the clouds: a small reader for the documents they hand a node (the OVF
 * environment of vSphere and Azure, Azure's wireserver goal state): elements,
 * attributes, text, CDATA and the predefined and numeric entities. No DTDs
 * and no external entities, by design: a document that declares one is
 * refused rather than half-read. Names are kept without their namespace
 * prefix (`ns1:HostName` → `HostName`, `oe:key` → `key`): the documents use
 * varying prefixes for the same namespaces. escapeXml also serves the
 * builder's OVA descriptor.
 */

export interface XmlElement {
  /** Local name, prefix removed. */
  name: string;
  /** Attributes by local name (xmlns declarations dropped). */
  attributes: Record<string, string>;
  children: XmlElement[];
  /** The element's own text (CDATA included), children's text not included. */
  text: string;
}

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
const NAME = /^[A-Za-z_][\w.:-]*/;

/** Parse a document; throws with the offset of the first thing that is not well-formed. */
export function parseXml(text: string): XmlElement {
  let at = 0;
  const fail = (what: string): never => {
    throw new Error(`not well-formed XML at offset ${at}: ${what}`);
  };
  const skipSpace = () => {
    while (at < text.length && /\s/.test(text[at]!)) at++;
  };
  const expect = (literal: string) => {
    if (!text.startsWith(literal, at)) fail(`expected "${literal}"`);
    at += literal.length;
  };
  const readUntil = (end: string, what: string): string => {
    const close = text.indexOf(end, at);
    if (close === -1) fail(`${what} is not closed`);
    const value = text.slice(at, close);
    at = close + end.length;
    return value;
  };
  const decode = (raw: string): string =>
    raw.replace(/&(#x[0-9A-Fa-f]+|#[0-9]+|[A-Za-z]+);|&/g, (match, entity: string | undefined) => {
      if (entity === undefined) fail('a bare "&"');
      if (entity!.startsWith('#x')) return String.fromCodePoint(parseInt(entity!.slice(2), 16));
      if (entity!.startsWith('#')) return String.fromCodePoint(parseInt(entity!.slice(1), 10));
      return ENTITIES[entity!] ?? fail(`unknown entity ${match}`);
    });
  const localName = (name: string) => name.slice(name.indexOf(':') + 1);
  /** Comments, processing instructions and white space between markup. */
  const skipMisc = () => {
    for (;;) {
      skipSpace();
      if (text.startsWith('<!--', at)) readUntil('-->', 'a comment');
      else if (text.startsWith('<?', at)) readUntil('?>', 'a processing instruction');
      else return;
    }
  };
  const readName = (): string => {
    const match = NAME.exec(text.slice(at, at + 256));
    if (!match) fail('expected a name');
    at += match![0].length;
    return match![0];
  };
  const readElement = (): XmlElement => {
    expect('<');
    const qualified = readName();
    const element: XmlElement = { name: localName(qualified), attributes: {}, children: [], text: '' };
    for (;;) {
      skipSpace();
      if (text.startsWith('/>', at)) {
        at += 2;
        return element;
      }
      if (text[at] === '>') {
        at++;
        break;
      }
      const attribute = readName();
      skipSpace();
      expect('=');
      skipSpace();
      const quote = text[at];
      if (quote !== '"' && quote !== "'") fail('an attribute value must be quoted');
      at++;
      const value = decode(readUntil(quote!, 'an attribute value'));
      if (attribute !== 'xmlns' && !attribute.startsWith('xmlns:')) element.attributes[localName(attribute)] = value;
    }
    for (;;) {
      if (at >= text.length) fail(`<${qualified}> is not closed`);
      if (text.startsWith('</', at)) {
        at += 2;
        if (readName() !== qualified) fail(`</…> does not close <${qualified}>`);
        skipSpace();
        expect('>');
        return element;
      }
      if (text.startsWith('<!--', at)) readUntil('-->', 'a comment');
      else if (text.startsWith('<![CDATA[', at)) {
        at += '<![CDATA['.length;
        element.text += readUntil(']]>', 'a CDATA section');
      } else if (text.startsWith('<?', at)) readUntil('?>', 'a processing instruction');
      else if (text[at] === '<') element.children.push(readElement());
      else {
        const next = text.indexOf('<', at);
        const end = next === -1 ? text.length : next;
        element.text += decode(text.slice(at, end));
        at = end;
      }
    }
  };

  if (text.charCodeAt(0) === 0xfeff) at = 1;
  skipMisc();
  if (text.startsWith('<!DOCTYPE', at)) fail('a DOCTYPE is not accepted');
  const root = readElement();
  skipMisc();
  if (at !== text.length) fail('content after the root element');
  return root;
}

/** The first descendant (depth first) with this local name. */
export function findElement(root: XmlElement, name: string): XmlElement | undefined {
  for (const child of root.children) {
    if (child.name === name) return child;
    const found = findElement(child, name);
    if (found) return found;
  }
  return undefined;
}

/** Every descendant with this local name, in document order. */
export function findElements(root: XmlElement, name: string): XmlElement[] {
  return root.children.flatMap((child) => [...(child.name === name ? [child] : []), ...findElements(child, name)]);
}

/** The trimmed text of the first descendant with this name, undefined when there is none or it is blank. */
export function textOf(root: XmlElement, name: string): string | undefined {
  const text = findElement(root, name)?.text.trim();
  return text === undefined || text === '' ? undefined : text;
}

/** Text for an XML document: the five characters that must be escaped, escaped. */
export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (ch) => `&${Object.keys(ENTITIES).find((name) => ENTITIES[name] === ch)};`);
}
