// Server messages with commands and template snippets in them, shown with those parts as
// code: "Create one (estafeta dkim create shop.example --selector s1)" gets the command in a
// code element, so it reads as something to type. Text only: nothing is parsed as HTML.
import { Fragment } from 'react';

const CODE = /(estafeta [^()]+?(?=\)|$)|\{\{.+?\}\}|\{%.+?%\})/g;

export function RichText({ text }: { text: string }) {
  const parts = text.split(CODE);
  return (
    <>
      {parts.map((p, i) =>
        i % 2 === 1 ? (
          <code key={i} className="cmd">
            {p}
          </code>
        ) : (
          <Fragment key={i}>{p}</Fragment>
        ),
      )}
    </>
  );
}
