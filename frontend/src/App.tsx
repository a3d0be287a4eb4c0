// The application: a symbol picker, the pages, and the live stream that feeds them.
import { useEffect, useState } from "react";

import { history, type Forecast, type StreamState, subscribe, symbols as listSymbols } from "./api";
import { forgetToken, useAuth } from "./auth";
import { TokenForm } from "./components/TokenForm";
import { Drift } from "./pages/Drift";
import { History } from "./pages/History";
import { Live } from "./pages/Live";
import { Models } from "./pages/Models";

export const KEPT = 500; // forecasts kept per symbol: the chart's window, bounded
const PAGES = ["Live", "Models", "Drift", "History"] as const;
type Page = (typeof PAGES)[number];

/** The page the address names (#models, ...), so that a page can be linked and reloaded. */
export function pageOf(hash: string): Page {
  return PAGES.find((p) => `#${p.toLowerCase()}` === hash.toLowerCase()) ?? "Live";
}

const later = (a: Forecast, b: Forecast) => a.ts > b.ts || (a.ts === b.ts && a.seq > b.seq);

/** The symbol's forecasts with `forecast` appended in event-time order, at most KEPT. */
export function appended(kept: Forecast[], forecast: Forecast): Forecast[] {
  const last = kept.at(-1);
  if (last && !later(forecast, last)) {
    return kept; // a repeat (the stream resends the latest on reconnecting) or an older one
  }
  return [...kept, forecast].slice(-KEPT);
}

/** Two runs of a symbol's forecasts as one, in event-time order without repeats, at most KEPT
 * (the history from ClickHouse fills what the stream missed while it was down). */
export function merged(kept: Forecast[], more: Forecast[]): Forecast[] {
  const byId = new Map([...kept, ...more].map((f) => [`${f.ts}#${f.seq}`, f]));
  return [...byId.values()].sort((a, b) => (later(a, b) ? 1 : -1)).slice(-KEPT);
}

export function App() {
  const [page, setPage] = useState<Page>(() => pageOf(window.location.hash));
  const [known, setKnown] = useState<string[]>([]);
  const [chosen, setSymbol] = useState<string | null>(null);
  const symbol = chosen ?? known[0] ?? null; // the first known until one is chosen
  const [bySymbol, setBySymbol] = useState<Record<string, Forecast[]>>({});
  const [state, setState] = useState<StreamState>("connecting");
  const [opened, setOpened] = useState(0); // times the stream opened: each reloads the history
  const auth = useAuth(); // a token saved or forgotten: the stream and the lists load again

  useEffect(
    () =>
      subscribe(
        (f) => {
          setBySymbol((all) => ({ ...all, [f.symbol]: appended(all[f.symbol] ?? [], f) }));
          setKnown((names) => (names.includes(f.symbol) ? names : [...names, f.symbol].sort()));
        },
        (now) => {
          setState(now);
          if (now === "open") setOpened((n) => n + 1);
        },
      ),
    [auth.generation],
  );

  useEffect(() => {
    listSymbols()
      .then((names) => setKnown((seen) => [...new Set([...seen, ...names])].sort()))
      .catch(() => setState("down"));
  }, [auth.generation]);

  useEffect(() => {
    if (!symbol) return;
    history(symbol)
      .then((past) => setBySymbol((all) => ({ ...all, [symbol]: merged(all[symbol] ?? [], past) })))
      .catch(() => undefined); // no ClickHouse behind the API: the stream alone
  }, [symbol, opened, auth.generation]);

  return (
    <main>
      <header>
        <h1>tickcast</h1>
        <nav>
          {PAGES.map((p) => (
            <button
              key={p}
              aria-pressed={p === page}
              onClick={() => {
                setPage(p);
                window.location.hash = p.toLowerCase();
              }}
            >
              {p}
            </button>
          ))}
        </nav>
        <label>
          symbol{" "}
          <select
            aria-label="symbol"
            value={symbol ?? ""}
            onChange={(event) => setSymbol(event.target.value)}
          >
            {known.map((name) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </select>
        </label>
        {auth.token && (
          <button type="button" onClick={forgetToken}>
            forget token
          </button>
        )}
      </header>
      {auth.need ? (
        <TokenForm refused={auth.need === "refused"} />
      ) : (
        <>
          {page === "Live" && (
            <Live
              symbol={symbol}
              forecasts={symbol ? (bySymbol[symbol] ?? []) : []}
              state={state}
            />
          )}
          {page === "Models" && <Models symbol={symbol} />}
          {page === "Drift" && <Drift symbol={symbol} />}
          {page === "History" && <History symbol={symbol} />}
        </>
      )}
    </main>
  );
}
