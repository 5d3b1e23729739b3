// The first thing a new user sees: a username and a password. Enter logs in; "Create account"
// registers and then logs in with the same two fields.
import { useState } from "preact/hooks";
import { HeraldClient, HeraldError, type LoginResult } from "../sdk.js";
import { describeError } from "./errors.js";

const USERNAME = /^[A-Za-z0-9_.-]{3,32}$/;

interface Props {
  baseUrl: string;
  /** Why the user is here again (session ended), if not by choice. */
  message: string | undefined;
  onSignedIn: (login: LoginResult) => void;
}

export function LoginView({ baseUrl, message, onSignedIn }: Props) {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState<"login" | "register" | null>(null);
  const [error, setError] = useState<string | undefined>(undefined);

  const run = async (mode: "login" | "register") => {
    if (busy) return;
    const name = username.trim();
    if (mode === "register") {
      if (!USERNAME.test(name)) {
        setError("Usernames are 3–32 letters, digits, '.', '_' or '-'.");
        return;
      }
      if (password.length < 8) {
        setError("Use a password of at least 8 characters.");
        return;
      }
    }
    if (name === "" || password === "") {
      setError("Enter your username and password.");
      return;
    }
    setBusy(mode);
    setError(undefined);
    const client = new HeraldClient({ baseUrl });
    try {
      if (mode === "register") await client.register(name, password);
      const login = await client.login(name, password);
      onSignedIn(login);
    } catch (err) {
      setBusy(null);
      setError(loginError(err, mode));
    }
  };

  return (
    <main class="login">
      <form
        class="login-card"
        data-testid="login-form"
        onSubmit={(e) => {
          e.preventDefault();
          void run("login");
        }}
      >
        <div class="brand">
          <span class="brand-mark" aria-hidden="true">
            H
          </span>
          <h1>Herald</h1>
        </div>
        <p class="login-lead">Chat with your friends in real time.</p>
        {message && !error && (
          <p class="login-message" role="status" data-testid="login-message">
            {message}
          </p>
        )}
        <label class="field">
          <span>Username</span>
          <input
            type="text"
            name="username"
            autocomplete="username"
            autocapitalize="none"
            spellcheck={false}
            maxLength={32}
            required
            value={username}
            onInput={(e) => setUsername(e.currentTarget.value)}
            data-testid="login-username"
          />
        </label>
        <label class="field">
          <span>Password</span>
          <input
            type="password"
            name="password"
            autocomplete="current-password"
            maxLength={256}
            required
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
            data-testid="login-password"
          />
        </label>
        {error && (
          <p class="form-error" role="alert" data-testid="login-error">
            {error}
          </p>
        )}
        <button
          type="submit"
          class="button primary wide"
          disabled={busy !== null}
          data-testid="login-submit"
        >
          {busy === "login" ? "Logging in…" : "Log in"}
        </button>
        <div class="login-alt">
          <span>New here?</span>
          <button
            type="button"
            class="button ghost"
            disabled={busy !== null}
            onClick={() => void run("register")}
            data-testid="register-button"
          >
            {busy === "register" ? "Creating account…" : "Create account"}
          </button>
        </div>
      </form>
    </main>
  );
}

function loginError(err: unknown, mode: "login" | "register"): string {
  if (err instanceof HeraldError) {
    if (mode === "login" && err.status === 401) return "Wrong username or password.";
    if (err.status === 409) return "That username is taken. Pick another or log in.";
  }
  return describeError(err);
}
