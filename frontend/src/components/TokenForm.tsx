// Asks for the API's bearer token, in place of a page the API would not serve without it.
import { type FormEvent, useState } from "react";

import { saveToken } from "../auth";

export function TokenForm({ refused }: { refused: boolean }) {
  const [draft, setDraft] = useState("");
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const token = draft.trim();
    if (token) saveToken(token);
  };
  return (
    <form className="banner token" aria-label="API token" onSubmit={submit}>
      <p role="status">
        <b>This API wants a token</b>
        {refused && ": the token was refused"}
      </p>
      <label>
        token{" "}
        <input
          type="password"
          autoComplete="off"
          required
          value={draft}
          onChange={(event) => setDraft(event.target.value)}
        />
      </label>{" "}
      <button type="submit">Save</button>
    </form>
  );
}
