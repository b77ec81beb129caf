-- The title block's authors, keywords and licence, from the report metadata
-- (report_meta.py), under both renderers (_quarto.yml `filters:`; the built-in renderer's
-- --lua-filter).
--
-- Quarto's own title block prints authors with affiliations and ORCID, the date, the
-- PDF link and the keywords in HTML, the licence as the appendix's "Reuse"; its Typst
-- template prints authors and date and puts title, authors and keywords into the PDF's
-- metadata. What is left, done here: keywords and licence below the abstract in Typst.
--
-- Under the built-in renderer (pandoc's templates print title, subtitle, authors and
-- date) this filter also writes each author with affiliations, ORCID and e-mail, adds
-- keywords, licence and (HTML, metadata `pdf-href`) the PDF link below the abstract, and
-- passes the keywords to Typst as strings (pandoc 3.9's template writes them unquoted).

local in_quarto = quarto ~= nil and quarto.doc ~= nil
local stringify = pandoc.utils.stringify

local function list(value)
  if value == nil then
    return {}
  end
  return pandoc.utils.type(value) == "List" and value or { value }
end

local function blocks(value)
  if value == nil then
    return pandoc.Blocks({})
  end
  return pandoc.utils.type(value) == "Inlines" and pandoc.Blocks({ pandoc.Para(value) })
    or pandoc.Blocks(value)
end

local function affiliations(author)
  local names = {}
  for _, affiliation in ipairs(list(author.affiliations)) do
    names[#names + 1] = stringify(affiliation.name or affiliation)
  end
  return table.concat(names, "; ")
end

local function html_author(author)
  if author.name == nil then
    return author
  end
  local name = stringify(author.name)
  local inlines = pandoc.Inlines({ pandoc.Str(name) })
  local where = affiliations(author)
  if where ~= "" then
    inlines:extend({ pandoc.Str(","), pandoc.Space(), pandoc.Span(where, { class = "affiliation" }) })
  end
  if author.orcid then
    local orcid = stringify(author.orcid)
    inlines:extend({ pandoc.Space(), pandoc.Link("ORCID " .. orcid, "https://orcid.org/" .. orcid,
      "ORCID profile of " .. name, { class = "orcid" }) })
  end
  if author.email then
    local email = stringify(author.email)
    inlines:extend({ pandoc.Space(), pandoc.Link(email, "mailto:" .. email, "", { class = "email" }) })
  end
  return pandoc.MetaInlines(inlines)
end

local function typst_author(author)
  if author.name == nil then
    return author
  end
  local lines = { affiliations(author) }
  if author.orcid then
    lines[#lines + 1] = "ORCID " .. stringify(author.orcid)
  end
  local affiliation = {}
  for i, line in ipairs(lines) do
    if line ~= "" then
      if #affiliation > 0 then
        affiliation[#affiliation + 1] = pandoc.LineBreak()
      end
      affiliation[#affiliation + 1] = pandoc.Str(line)
    end
  end
  return pandoc.MetaMap({
    name = pandoc.MetaInlines({ pandoc.Str(stringify(author.name)) }),
    affiliation = pandoc.MetaInlines(affiliation),
    email = pandoc.MetaInlines(author.email and { pandoc.Str(stringify(author.email)) } or {}),
  })
end

local function labelled(label, inlines)
  local para = pandoc.Inlines({ pandoc.Strong({ pandoc.Str(label) }), pandoc.Space() })
  para:extend(inlines)
  return pandoc.Para(para)
end

function Meta(meta)
  local html = FORMAT:match("html") ~= nil
  if in_quarto and html then
    return nil
  end
  if meta.author and not in_quarto then
    local authors = {}
    for i, author in ipairs(list(meta.author)) do
      authors[i] = html and html_author(author) or typst_author(author)
    end
    meta.author = pandoc.MetaList(authors)
  end
  local after = pandoc.Blocks({})
  if html and meta["pdf-href"] then
    after:insert(labelled("Other formats:", { pandoc.Link("PDF", stringify(meta["pdf-href"])) }))
  end
  local keywords = {}
  for _, keyword in ipairs(list(meta.keywords)) do
    keywords[#keywords + 1] = stringify(keyword)
  end
  if #keywords > 0 then
    after:insert(labelled("Keywords:", { pandoc.Str(table.concat(keywords, ", ")) }))
    if not html and not in_quarto then
      local quoted = {}
      for i, keyword in ipairs(keywords) do
        quoted[i] = pandoc.MetaInlines({ pandoc.RawInline("typst", string.format("%q", keyword)) })
      end
      meta.keywords = pandoc.MetaList(quoted)
    end
  end
  if meta.license then
    after:insert(labelled("Licence:", { pandoc.Str(stringify(meta.license)) }))
  end
  if #after > 0 then
    local abstract = blocks(meta.abstract)
    abstract:insert(pandoc.Div(after, { class = "title-meta" }))
    meta.abstract = pandoc.MetaBlocks(abstract)
  end
  return meta
end
