// The Server-Sent Events format (text/event-stream), parsed by hand for the streams that
// EventSource cannot open (it sends no Authorization header). As the HTML standard reads it:
// lines end with CRLF, LF or CR; an empty line dispatches the event; a line starting with ":"
// is a comment; "field: value" (one space after the colon dropped) sets event, data (several
// lines joined by "\n"), id or retry; an event without data, or not finished by an empty line
// when the stream ends, is dropped.

/** An event as dispatched (`event` is "message" when the stream named none), or the
 * reconnection time (ms) the stream asked for with `retry:`. */
export type SseItem =
  { kind: "event"; event: string; data: string; id: string } | { kind: "retry"; ms: number };

/** A parser that keeps the unfinished line and event between chunks: `feed` takes the next
 * chunk of text (split anywhere, even between CR and LF) and returns what it completed. */
export function sseParser(): (chunk: string) => SseItem[] {
  let pending = ""; // the line not finished yet
  let afterCR = false; // the last chunk ended in CR: a LF opening the next one belongs to it
  let event = "";
  let data: string[] = [];
  let id = "";

  const line = (text: string, out: SseItem[]) => {
    if (text === "") {
      if (data.length)
        out.push({ kind: "event", event: event || "message", data: data.join("\n"), id });
      event = "";
      data = [];
      return;
    }
    if (text.startsWith(":")) return; // a comment, e.g. the server's keep-alive ping
    const colon = text.indexOf(":");
    const field = colon < 0 ? text : text.slice(0, colon);
    let value = colon < 0 ? "" : text.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") event = value;
    else if (field === "data") data.push(value);
    else if (field === "id" && !value.includes("\0")) id = value;
    else if (field === "retry" && /^\d+$/.test(value))
      out.push({ kind: "retry", ms: Number(value) });
  };

  return (chunk) => {
    const out: SseItem[] = [];
    let text = chunk;
    if (afterCR && text.startsWith("\n")) text = text.slice(1);
    afterCR = false;
    text = pending + text;
    let start = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (c !== "\r" && c !== "\n") continue;
      line(text.slice(start, i), out);
      if (c === "\r") {
        if (i + 1 === text.length) afterCR = true;
        else if (text[i + 1] === "\n") i++;
      }
      start = i + 1;
    }
    pending = text.slice(start);
    return out;
  };
}

/** Every item in a run of chunks, as one stream from its start. */
export function* parseSse(chunks: Iterable<string>): Generator<SseItem> {
  const feed = sseParser();
  for (const chunk of chunks) yield* feed(chunk);
}
