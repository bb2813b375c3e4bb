import { useState } from 'react';

/** Copies `text` to the clipboard and says so for a moment. */
export function CopyButton({ text, label = 'Copy' }: { text: string; label?: string }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setCopied(true);
      setTimeout(() => setCopied(false), 1500);
    } catch {
      // Clipboard access is refused on plain-HTTP origins other than localhost: select instead.
      window.prompt('Copy this:', text);
    }
  };
  return (
    <button type="button" className="button small" onClick={() => void copy()}>
      {copied ? 'Copied' : label}
    </button>
  );
}
