// SAMPLE data for development and demonstration only — NOT an official list of stations or holders.
// Station names end with "（示例）"; addresses, phone numbers and coordinates are illustrative.
// Holder identities, ID numbers, phone numbers and card numbers are fictional (the ID numbers only
// satisfy the GB 11643 format and check character).

export interface SampleStation {
  name: string;
  districtCode: string;
  address: string;
  phone: string;
  latitude: number;
  longitude: number;
}

/** At least one sample pickup station per district (13 in total). Coordinates are WGS84. */
export const SAMPLE_STATIONS: readonly SampleStation[] = [
  {
    name: '荔湾区退役军人服务中心（示例）',
    districtCode: '440103',
    address: '广州市荔湾区中山八路101号',
    phone: '020-81000101',
    latitude: 23.12593,
    longitude: 113.24402,
  },
  {
    name: '越秀区退役军人服务中心（示例）',
    districtCode: '440104',
    address: '广州市越秀区中山五路102号',
    phone: '020-83000102',
    latitude: 23.12904,
    longitude: 113.26681,
  },
  {
    name: '越秀区东山街退役军人服务站（示例）',
    districtCode: '440104',
    address: '广州市越秀区东风东路103号',
    phone: '020-83000103',
    latitude: 23.13312,
    longitude: 113.29208,
  },
  {
    name: '海珠区退役军人服务中心（示例）',
    districtCode: '440105',
    address: '广州市海珠区新滘中路104号',
    phone: '020-84000104',
    latitude: 23.08381,
    longitude: 113.31724,
  },
  {
    name: '天河区退役军人服务中心（示例）',
    districtCode: '440106',
    address: '广州市天河区天府路105号',
    phone: '020-85000105',
    latitude: 23.12463,
    longitude: 113.36132,
  },
  {
    name: '天河区体育西路退役军人服务站（示例）',
    districtCode: '440106',
    address: '广州市天河区体育西路106号',
    phone: '020-85000106',
    latitude: 23.13652,
    longitude: 113.32253,
  },
  {
    name: '白云区退役军人服务中心（示例）',
    districtCode: '440111',
    address: '广州市白云区云城西路107号',
    phone: '020-86000107',
    latitude: 23.17653,
    longitude: 113.26904,
  },
  {
    name: '黄埔区退役军人服务中心（示例）',
    districtCode: '440112',
    address: '广州市黄埔区香雪三路108号',
    phone: '020-82000108',
    latitude: 23.18142,
    longitude: 113.48003,
  },
  {
    name: '番禺区退役军人服务中心（示例）',
    districtCode: '440113',
    address: '广州市番禺区市桥街清河东路109号',
    phone: '020-84000109',
    latitude: 22.93781,
    longitude: 113.38423,
  },
  {
    name: '花都区退役军人服务中心（示例）',
    districtCode: '440114',
    address: '广州市花都区新华街公益大道110号',
    phone: '020-86000110',
    latitude: 23.40402,
    longitude: 113.22013,
  },
  {
    name: '南沙区退役军人服务中心（示例）',
    districtCode: '440115',
    address: '广州市南沙区南沙街凤凰大道111号',
    phone: '020-84000111',
    latitude: 22.80164,
    longitude: 113.52502,
  },
  {
    name: '从化区退役军人服务中心（示例）',
    districtCode: '440117',
    address: '广州市从化区街口街河滨北路112号',
    phone: '020-87000112',
    latitude: 23.54872,
    longitude: 113.58653,
  },
  {
    name: '增城区退役军人服务中心（示例）',
    districtCode: '440118',
    address: '广州市增城区荔城街府佑路113号',
    phone: '020-82000113',
    latitude: 23.26114,
    longitude: 113.81082,
  },
];

export interface SampleHolder {
  identity: {
    countryRegion: 'CHN';
    idType: 'RESIDENT_ID_CARD';
    idNumber: string;
    name: string;
  };
  phone: string;
  card: {
    cardNumber: string;
    /** YYYY-MM-DD */
    issuedAt: string;
  };
  note: string;
}

/**
 * Fictional holders. ID numbers are 18 characters with a valid GB 11643 (ISO 7064 MOD 11-2)
 * check character; the 17th digit's parity matches the name's usual gender.
 * "Within a year" is relative to 2026-12-01.
 */
export const SAMPLE_HOLDERS: readonly SampleHolder[] = [
  {
    identity: {
      countryRegion: 'CHN',
      idType: 'RESIDENT_ID_CARD',
      idNumber: '440104195203142136',
      name: '陈军',
    },
    phone: '13800130001',
    card: { cardNumber: 'A10000001', issuedAt: '2019-03-12' },
    note: 'card issued years ago (older holder, 2-character name): use for a paid LOST replacement through self-service',
  },
  {
    identity: {
      countryRegion: 'CHN',
      idType: 'RESIDENT_ID_CARD',
      idNumber: '440106196807220518',
      name: '李建国',
    },
    phone: '15900150002',
    card: { cardNumber: 'A10000002', issuedAt: '2021-08-30' },
    note: 'card issued years ago: use for a paid DAMAGED replacement, or to see a WARRANTY request refused as out of warranty',
  },
  {
    identity: {
      countryRegion: 'CHN',
      idType: 'RESIDENT_ID_CARD',
      idNumber: '44010519750905162X',
      name: '黄秀英',
    },
    phone: '18600180003',
    card: { cardNumber: 'A10000003', issuedAt: '2026-06-15' },
    note: "card issued within a year: use for warranty replacement (ID number ends in 'X': also tests upper/lower-case 'x' handling)",
  },
  {
    identity: {
      countryRegion: 'CHN',
      idType: 'RESIDENT_ID_CARD',
      idNumber: '440104198501183271',
      name: '周志强',
    },
    phone: '13700137004',
    card: { cardNumber: 'A10000004', issuedAt: '2026-03-20' },
    note: 'card issued within a year: use for warranty replacement approval/rejection by the bureau, or a counter INFO_CHANGE',
  },
  {
    identity: {
      countryRegion: 'CHN',
      idType: 'RESIDENT_ID_CARD',
      idNumber: '440106199104260381',
      name: '欧阳晓燕',
    },
    phone: '18800188005',
    card: { cardNumber: 'A10000005', issuedAt: '2017-11-05' },
    note: 'card issued years ago, 4-character compound-surname name: use for INFO_CHANGE at a station and for progress queries by name',
  },
];
