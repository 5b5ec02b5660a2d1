// The Express 4 line is installed under the alias `express4`; it has the same
// public surface as the `express` typings for everything the tests use.
declare module 'express4' {
  import express from 'express';
  export default express;
}
