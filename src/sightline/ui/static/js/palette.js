// The colours of the map's clusters: IBM Carbon's categorical palette, in its order, which keeps neighbouring
// colours far apart (carbondesignsystem.com/data-visualization/color-palettes). The light theme's steps on a
// light page, the dark theme's on a dark one: each stands out at least 3:1 from the map's background there
// (tests/ui/test_map.py measures both). Photos in no cluster are a faint grey; past 14 clusters the colours repeat.

const LIGHT = ["#6929c4", "#1192e8", "#005d5d", "#9f1853", "#fa4d56", "#570408", "#198038", "#002d9c", "#ee538b",
  "#b28600", "#009d9a", "#012749", "#8a3800", "#a56eff"];
const DARK = ["#8a3ffc", "#33b1ff", "#007d79", "#ff7eb6", "#fa4d56", "#fff1f1", "#6fdc8c", "#4589ff", "#d12771",
  "#d2a106", "#08bdba", "#bae6ff", "#ba4e00", "#d4bbff"];
const NOISE = "rgba(128,128,128,0.55)";

export const darkScheme = matchMedia("(prefers-color-scheme: dark)");

export function clusterColour(cluster) {
  if (cluster < 0) return NOISE;
  const palette = darkScheme.matches ? DARK : LIGHT;
  return palette[cluster % palette.length];
}
