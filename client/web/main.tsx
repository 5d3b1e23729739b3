// The web chat's entry: mounts the app. Bundled by scripts/build-web.mjs into dist/web.
import { render } from "preact";
import { App } from "./app.js";
import "./styles.css";

const root = document.getElementById("app");
if (root) render(<App />, root);
