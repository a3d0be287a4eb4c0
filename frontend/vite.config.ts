/// <reference types="vitest/config" />
// The API serves the built application (tickcast/api/app, not committed); `npm run dev`
// proxies the API's routes to a local `tickcast demo` or `tickcast api` on port 8000.
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

const api = process.env.TICKCAST_API ?? "http://127.0.0.1:8000";
const routes = ["/forecasts", "/symbols", "/stream", "/health", "/ready"];

export default defineConfig({
  plugins: [react()],
  base: "/",
  build: { outDir: "../tickcast/api/app", emptyOutDir: true },
  server: { proxy: Object.fromEntries(routes.map((route) => [route, api])) },
  test: { environment: "jsdom", globals: true, setupFiles: ["src/test/setup.ts"] },
});
