// Signed out: the login form. Signed in: the chat, on a ChatModel over one HeraldClient.
// The session token lives in localStorage so a reload stays signed in; a 401 signs out.
import { useEffect, useState } from "preact/hooks";
import { HeraldClient, type LoginResult } from "../sdk.js";
import { ChatModel } from "./chat-model.js";
import { ChatView } from "./chat-view.js";
import { LoginView } from "./login-view.js";
import {
  clearCursors,
  clearSession,
  loadCursors,
  loadSession,
  saveSession,
} from "./saved-session.js";

type Phase =
  { kind: "signed-out"; message: string | undefined } | { kind: "chat"; model: ChatModel };

const baseUrl = window.location.origin;

function initialPhase(): Phase {
  const saved = loadSession();
  if (!saved) return { kind: "signed-out", message: undefined };
  const client = new HeraldClient({
    baseUrl,
    token: saved.token,
    cursors: loadCursors(saved.userId),
  });
  return { kind: "chat", model: new ChatModel(client, saved) };
}

export function App() {
  const [phase, setPhase] = useState<Phase>(initialPhase);

  const model = phase.kind === "chat" ? phase.model : null;
  useEffect(() => {
    if (!model) return;
    model.start((end) => {
      clearSession();
      if (end.reason === "logout") clearCursors(model.snapshot.me.userId);
      setPhase({ kind: "signed-out", message: end.reason === "logout" ? undefined : end.message });
    });
    const save = () => model.persistCursors();
    window.addEventListener("pagehide", save);
    return () => {
      window.removeEventListener("pagehide", save);
      model.stop();
    };
  }, [model]);

  const signedIn = (login: LoginResult) => {
    saveSession({ token: login.token, userId: login.userId, username: login.username });
    // A fresh client with this browser's cursors for the user, if they were here before.
    const client = new HeraldClient({
      baseUrl,
      token: login.token,
      cursors: loadCursors(login.userId),
    });
    const me = { userId: login.userId, username: login.username };
    setPhase({ kind: "chat", model: new ChatModel(client, me) });
  };

  if (phase.kind === "chat") return <ChatView model={phase.model} />;
  return <LoginView baseUrl={baseUrl} message={phase.message} onSignedIn={signedIn} />;
}
