--[[ PDF only: wide tables wrap instead of running off the page.

A table whose columns carry no width (a pandas DataFrame's HTML, a short
pipe table) becomes `l` columns in LaTeX, and `l` cells never wrap: a table
of long headers runs off the page. When the widest cells of such a table
add up to more than a line, every column gets a relative width (its widest
cell, headers counted at half as they may wrap, at least MIN characters),
so pandoc writes p{} columns that wrap. Tables that fit are left alone.
]]

local LINE = 90 -- characters of table text a line of the page holds
local MIN = 6

local function chars(blocks)
  return utf8.len(pandoc.utils.stringify(blocks)) or 0
end

local function measure(rows, widths, factor)
  for _, row in ipairs(rows) do
    local col = 1
    for _, cell in ipairs(row.cells) do
      local span = cell.col_span or 1
      local w = chars(cell.contents) * factor / span
      for k = col, col + span - 1 do
        widths[k] = math.max(widths[k] or MIN, w)
      end
      col = col + span
    end
  end
end

function Table(tbl)
  if not quarto.doc.is_format("latex") then
    return nil
  end
  for _, spec in ipairs(tbl.colspecs) do
    if type(spec[2]) == "number" and spec[2] > 0 then
      return nil -- the author chose widths
    end
  end
  local n = #tbl.colspecs
  local widths = {}
  for k = 1, n do
    widths[k] = MIN
  end
  measure(tbl.head.rows, widths, 0.5)
  for _, body in ipairs(tbl.bodies) do
    measure(body.head, widths, 1)
    measure(body.body, widths, 1)
  end
  local total = 0
  for k = 1, n do
    total = total + widths[k] + 2
  end
  if total <= LINE then
    return nil
  end
  for k = 1, n do
    tbl.colspecs[k] = { tbl.colspecs[k][1], 0.98 * (widths[k] + 2) / total }
  end
  return tbl
end
