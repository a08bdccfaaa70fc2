/**
 * A component whose code loads on first use, like React.lazy, that does not suspend once its code
 * is there. React.lazy suspends on its first render even when the module was fetched before (a
 * link pointed at, a background warm-up), and React holds a revealed Suspense boundary back for up
 * to 300 ms: a page whose code was ready still waited. Here an instance made after the code loaded
 * renders it at once; one made before goes through React.lazy (inside a Suspense boundary) and
 * keeps doing so, so a mounted component is never swapped (an editor would lose its state).
 */
import { lazy, useState, type ComponentType } from 'react';

export interface Loadable<P extends object> {
  Component: ComponentType<P>;
  /** Starts loading the code (once; again after a failure). */
  preload: () => Promise<ComponentType<P>>;
}

export function loadable<P extends object>(load: () => Promise<ComponentType<P>>): Loadable<P> {
  let loaded: ComponentType<P> | null = null;
  let pending: Promise<ComponentType<P>> | null = null;
  const preload = (): Promise<ComponentType<P>> => {
    pending ??= load().then(
      (c) => (loaded = c),
      (e: unknown) => {
        pending = null;
        throw e;
      },
    );
    return pending;
  };
  const Lazy = lazy(() => preload().then((c) => ({ default: c })));
  function Component(props: P) {
    const [Ready] = useState(() => loaded);
    return Ready ? <Ready {...props} /> : <Lazy {...props} />;
  }
  return { Component, preload };
}
