-- PDF (Typst) only: a table wider than the text block gets column widths that leave each
-- column room for its longest word and share the rest by how much text each column
-- holds, as a browser lays out a table. Pandoc's widths (from the markdown's dashes, so
-- a 2.6 % column may hold "epochs") put a long word in a narrow column, where Typst draws
-- it over the next column's text. Tables that fit keep their widths. Both renderers run
-- it: the built-in one (cifar_core/render/writers.py) and Quarto (_quarto.yml filters);
-- like the other filters here it checks FORMAT inside its function, so the file loads the
-- same way under both.

local TEXT_WIDTH_PT = 595.3 * (1 - 2 * 2.5 / 21) -- A4 less Typst's default margins
local CELL_TEXT_PT, CELL_INSETS_PT = 7.5, 6.0     -- assets/header.typ: 7.5 pt, 3 pt insets
local WORD = "[^%s/_:+%-]+"                        -- header.typ lets a cell wrap at these

-- The printed width of a cell's text, roughly: capitals, digits and signs wider than
-- lower case.
local function width_pt(text)
  local ems = 0
  for _, code in utf8.codes(text) do
    local char = utf8.char(code)
    ems = ems + ((char:match("^%l$") or char:match("^%s$")) and 0.5 or 0.65)
  end
  return ems * CELL_TEXT_PT + CELL_INSETS_PT
end

local function rows_of(tbl)
  local rows = {}
  local function add(list)
    for _, row in ipairs(list) do
      rows[#rows + 1] = row
    end
  end
  add(tbl.head.rows)
  for _, body in ipairs(tbl.bodies) do
    add(body.head)
    add(body.body)
  end
  add(tbl.foot.rows)
  return rows
end

function Table(tbl)
  if not FORMAT:match("typst") then
    return nil
  end
  local n = #tbl.colspecs
  local need, want = {}, {}
  for i = 1, n do
    need[i], want[i] = width_pt(""), width_pt("")
  end
  for _, row in ipairs(rows_of(tbl)) do
    if #row.cells ~= n then
      return nil -- merged cells: keep pandoc's widths
    end
    for i, cell in ipairs(row.cells) do
      local text = pandoc.utils.stringify(cell.contents)
      want[i] = math.max(want[i], width_pt(text))
      for word in text:gmatch(WORD) do
        need[i] = math.max(need[i], width_pt(word))
      end
    end
  end
  local total_need, total_want, total_extra = 0, 0, 0
  for i = 1, n do
    want[i] = math.max(want[i], need[i])
    total_need, total_want = total_need + need[i], total_want + want[i]
    total_extra = total_extra + want[i] - need[i]
  end
  if total_want <= TEXT_WIDTH_PT then
    return nil
  end
  local spare = math.max(TEXT_WIDTH_PT - total_need, 0)
  local share = total_extra > 0 and spare / total_extra or 0 -- 0: one word per cell
  local widths, total = {}, 0
  for i = 1, n do
    widths[i] = need[i] + share * (want[i] - need[i])
    total = total + widths[i]
  end
  for i = 1, n do
    tbl.colspecs[i] = { tbl.colspecs[i][1], widths[i] / total }
  end
  return tbl
end
