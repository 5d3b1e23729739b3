// Re-renders a component whenever the chat model's state changes.
import { useEffect, useState } from "preact/hooks";
import type { ChatModel, ChatState } from "./chat-model.js";

export function useChat(model: ChatModel): ChatState {
  const [state, setState] = useState(model.snapshot);
  useEffect(() => {
    setState(model.snapshot);
    return model.subscribe(() => setState(model.snapshot));
  }, [model]);
  return state;
}
