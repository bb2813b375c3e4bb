/** An error message from the server (or the network), shown where the action happened. */
export function ErrorNote({ message }: { message: string | undefined | null }) {
  if (!message) return null;
  return (
    <p className="error-note" role="alert">
      {message}
    </p>
  );
}
