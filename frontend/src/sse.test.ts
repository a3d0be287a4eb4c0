import { describe, expect, it } from "vitest";

import { parseSse, sseParser } from "./sse";

const all = (...chunks: string[]) => [...parseSse(chunks)];
const event = (data: string, name = "forecast", id = "") => ({
  kind: "event",
  event: name,
  data,
  id,
});

describe("the Server-Sent Events parser", () => {
  it("dispatches an event on an empty line, skipping comments", () => {
    expect(all(': connected\n\nevent: forecast\ndata: {"a":1}\n\n: ping\n\n')).toEqual([
      event('{"a":1}'),
    ]);
  });

  it("joins several data lines with a newline and names unnamed events message", () => {
    expect(all("data: one\ndata:two\ndata\n\n")).toEqual([event("one\ntwo\n", "message")]);
  });

  it("drops only the one space after the colon", () => {
    expect(all("event:forecast\ndata:  spaced \n\n")).toEqual([event(" spaced ")]);
  });

  it("reports the reconnection time, ignoring one that is not a number", () => {
    expect(all("retry: 5000\nretry: soon\n\n")).toEqual([{ kind: "retry", ms: 5000 }]);
  });

  it("reads CRLF and CR line ends, even with a CRLF split between chunks", () => {
    expect(all("event: forecast\r\ndata: a\r\n\r", "\ndata: b\r\rdata: c\r", "\n\r\n")).toEqual([
      event("a"),
      event("b", "message"),
      event("c", "message"),
    ]);
    expect(all("data: a\r", "\ndata: b\r\n\r\n")).toEqual([event("a\nb", "message")]);
  });

  it("keeps a line split mid-way across chunks", () => {
    const text = 'event: forecast\ndata: {"symbol":"AAPL"}\n\n';
    const chunks = text.match(/.{1,3}/gs) ?? [];
    expect(all(...chunks)).toEqual([event('{"symbol":"AAPL"}')]);
    const feed = sseParser();
    expect(feed("event: fore")).toEqual([]);
    expect(feed("cast\ndata: {}\n")).toEqual([]);
    expect(feed("\n")).toEqual([event("{}")]);
  });

  it("keeps the last id, resets the name, and drops events without data or an end", () => {
    expect(all("id: 7\nevent: forecast\n\ndata: x\n\nevent: forecast\ndata: cut")).toEqual([
      event("x", "message", "7"),
    ]);
  });
});
