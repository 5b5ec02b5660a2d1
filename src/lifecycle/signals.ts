/** Installs one listener per signal; returns the function that removes them. */
export function onSignals(signals: readonly NodeJS.Signals[], listener: (signal: NodeJS.Signals) => void): () => void {
  const installed = signals.map((signal) => {
    const handler = () => listener(signal);
    process.on(signal, handler);
    return () => process.removeListener(signal, handler);
  });
  return () => {
    for (const remove of installed) remove();
  };
}
