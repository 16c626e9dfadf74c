"""The assessment bot (考核): figures per department, jurisdiction and province, as reports,
bulletins, charts and metrics. figures.compute is the one place the figures are computed."""
