// Guangzhou's 11 districts by GB/T 2260 code: the districts a pickup station can be in.
export const GUANGZHOU_DISTRICTS: Readonly<Record<string, { zh: string; en: string }>> = {
  '440103': { zh: '荔湾区', en: 'Liwan' },
  '440104': { zh: '越秀区', en: 'Yuexiu' },
  '440105': { zh: '海珠区', en: 'Haizhu' },
  '440106': { zh: '天河区', en: 'Tianhe' },
  '440111': { zh: '白云区', en: 'Baiyun' },
  '440112': { zh: '黄埔区', en: 'Huangpu' },
  '440113': { zh: '番禺区', en: 'Panyu' },
  '440114': { zh: '花都区', en: 'Huadu' },
  '440115': { zh: '南沙区', en: 'Nansha' },
  '440117': { zh: '从化区', en: 'Conghua' },
  '440118': { zh: '增城区', en: 'Zengcheng' },
};

export const DISTRICT_CODES = Object.keys(GUANGZHOU_DISTRICTS)
