-- KEYS: the subject's factors. ARGV: now. The factors live at `now`, each as a flat list of
-- field, value pairs.
local now = tonumber(ARGV[1])
local listed = {}
for _, factor in pairs(held()) do
  if is_live(factor, now) then
    local flat = {}
    for field, value in pairs(factor) do
      table.insert(flat, field)
      table.insert(flat, value)
    end
    table.insert(listed, flat)
  end
end
return listed
