"""A small valid roster that tests extend with extra files."""

BASE = """
jurisdictions:
  - {id: zj, name: 浙江省, space_name: 浙江政务通 · 网上值班室}
departments:
  - {id: fgw, name: 省发展改革委, jurisdiction: zj, email: fgw@mail.example.gov.cn}
  - {id: gat, name: 省公安厅, jurisdiction: zj, email: gat@mail.example.gov.cn}
  - {id: wlt, name: 省文化和旅游厅, jurisdiction: zj, email: wlt@mail.example.gov.cn}
officers:
  - {mxid: "@a:example.org", alias: 值班员 01, departments: [fgw, gat]}
  - {mxid: "@b:example.org", alias: 值班员 02, departments: [fgw, gat]}
  - {mxid: "@c:example.org", alias: 值班员 03, departments: [gat]}
"""
