// The data the JSON and page routes render. The mod_python and PHP anchors build the same values
// (bench/anchors/), and the bench checks that every server answers the same bytes.
export function item(i) {
  return { id: i, name: `Item ${i}`, price: 100 + i, inStock: i % 2 === 0 };
}

export function pageData() {
  const rows = [];
  for (let i = 1; i <= 40; i++)
    rows.push({ id: i, name: `Widget ${i} & <Co>`, price: 100 + i * 7, stock: (i * 13) % 50 });
  return { title: "Products & <prices>", rows };
}
